// Confirms the payment's PaymentIntent with Stripe.js, then goes back to the payment page,
// which asks the provider for the status: nothing here decides it.
//
// Live: the card element and confirmCardPayment. Test mode (data-test-card-url): the site
// attaches the chosen test card and confirms server-side; a 3-D Secure card then goes
// through Stripe.js's authentication (localstripe's fake Stripe.js shows its own window).
(function () {
  "use strict";
  var form = document.getElementById("stripe-payment-form");
  if (!form) { return; }
  var button = document.getElementById("stripe-pay-button");
  var errors = document.getElementById("stripe-card-errors");
  var stripe = Stripe(form.dataset.publishableKey);
  var back = function () { window.location.assign(form.dataset.returnUrl); };
  var fail = function (message) {
    errors.textContent = message || "";
    button.disabled = false;
  };
  var csrf = function () {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) { return input.value; }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  };
  if (form.dataset.testCardUrl) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      var body = new URLSearchParams();
      body.append("card", document.getElementById("stripe-test-card").value);
      fetch(form.dataset.testCardUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {"X-CSRFToken": csrf()},
        body: body
      }).then(function (response) { return response.json(); }).then(function (intent) {
        if (intent.error) { fail(intent.error); return; }
        if (intent.status === "requires_action") {
          stripe.confirmCardPayment(intent.client_secret).then(function (result) {
            if (result.error) { fail(result.error.message || String(result.error)); } else { back(); }
          });
        } else {
          back();
        }
      }).catch(function () { fail(form.dataset.networkError || "network error"); });
    });
    return;
  }
  var card = stripe.elements().create("card");
  card.mount("#stripe-card-element");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    stripe.confirmCardPayment(form.dataset.clientSecret, {payment_method: {card: card}})
      .then(function (result) {
        if (result.error) { fail(result.error.message); } else { back(); }
      });
  });
})();
