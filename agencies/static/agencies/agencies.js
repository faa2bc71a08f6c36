// Progressive enhancement only (CSP: no inline script). Without JS every page works.
(function () {
  "use strict";
  // Change requests: show the certificate fields only for a change of qualification.
  var kinds = document.querySelectorAll('input[name="kind"]');
  var box = document.querySelector(".js-kind-qualification");
  if (kinds.length && box) {
    var sync = function () {
      var checked = document.querySelector('input[name="kind"]:checked');
      box.hidden = !(checked && checked.value === "qualification");
    };
    kinds.forEach(function (k) { k.addEventListener("change", sync); });
    sync();
  }
  // Service regions: the region list matters only with "selected regions".
  var scopes = document.querySelectorAll('input[name="scope"]');
  var regions = document.querySelector('select[name="regions"]');
  if (scopes.length && regions) {
    var syncRegions = function () {
      var checked = document.querySelector('input[name="scope"]:checked');
      regions.disabled = !(checked && checked.value === "regions");
    };
    scopes.forEach(function (s) { s.addEventListener("change", syncRegions); });
    syncRegions();
  }
  // Move focus to the error summary so screen readers announce it.
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }
})();
