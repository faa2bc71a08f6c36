"""The agencies' web interface: public directory and profiles, self-service enrolment, the
agency portal, the regulator's review and the private-file download. Views are thin: they
validate input, call one service (agencies.services / shelf / changes) and render."""
