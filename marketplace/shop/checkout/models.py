from oscar.apps.checkout.models import *  # the fork keeps Oscar's (empty) models
