// Progressive enhancement only (CSP: no inline script). Without JS the search form's button
// applies the sort; with it, choosing a sort order searches at once.
(function () {
  "use strict";
  document.querySelectorAll("select.js-autosubmit").forEach(function (select) {
    select.addEventListener("change", function () {
      var form = select.form;
      if (!form) { return; }
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    });
  });
})();
