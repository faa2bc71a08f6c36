/* Fee calculator enhancement: submits the (working, GET) form to the JSON API and renders the
   result in the form's aria-live region. No inline script (CSP: script-src 'self'). */
(function () {
  "use strict";
  if (window.__feeCalculatorLoaded) { return; }
  window.__feeCalculatorLoaded = true;

  var zh = (document.documentElement.lang || "zh").toLowerCase().indexOf("zh") === 0;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function money(text) {
    var parts = String(text).split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return parts.join(".");
  }

  function clearErrors(form) {
    form.querySelectorAll("[data-error-for]").forEach(function (p) {
      p.hidden = true; p.textContent = "";
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (f) { f.removeAttribute("aria-invalid"); });
  }

  function showError(form, region, error) {
    var message = zh ? error.message : error.message_en;
    var slot = error.field ? form.querySelector('[data-error-for="' + error.field + '"]') : null;
    if (error.field === "unit") { slot = form.querySelector('[data-error-for="amount"]'); }
    region.textContent = "";
    var summary = el("p", "fee-error", (region.dataset.lError || "") + ": " + message);
    summary.setAttribute("role", "alert");
    region.appendChild(summary);
    if (slot) {
      slot.textContent = message; slot.hidden = false;
      var input = form.querySelector('[name="' + (error.field === "unit" ? "amount" : error.field) + '"]');
      if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
    }
  }

  function render(region, data) {
    var r = data.result, d = region.dataset, yuan = d.lYuan || "";
    region.textContent = "";
    var body = el("div", "fee-result__body");
    var dl = el("dl", "fee-figures");
    function row(label, value) {
      var wrap = el("div");
      wrap.appendChild(el("dt", null, label));
      wrap.appendChild(el("dd", null, value));
      dl.appendChild(wrap);
    }
    var standard = money(r.standard_fee) + " " + yuan;
    /* as the server-rendered result: the figure in 万元 too, the unit the amount is entered in */
    if (Number(r.standard_fee) >= 10000 && r.standard_fee_wan) {
      standard += " (" + r.standard_fee_wan + (zh ? "万元" : " × 10,000 yuan") + ")";
    }
    row(d.lStandard, standard);
    if (r.floor !== r.ceiling) { row(d.lRange, money(r.floor) + " – " + money(r.ceiling) + " " + yuan); }
    body.appendChild(dl);
    if (r.warnings.length) {
      var ul = el("ul", "fee-warnings");
      r.warnings.forEach(function (w) { ul.appendChild(el("li", null, zh ? w.message : w.message_en)); });
      body.appendChild(ul);
    }
    body.appendChild(el("h3", null, d.lBreakdown));
    var ol = el("ol", "fee-breakdown");
    r.breakdown.forEach(function (s) {
      ol.appendChild(el("li", "fee-step fee-step--" + s.kind, zh ? s.description : s.description_en));
    });
    body.appendChild(ol);
    region.appendChild(body);
  }

  function enhance(form) {
    var region = document.getElementById(form.dataset.result);
    if (!region || !window.fetch || !window.URLSearchParams) { return; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearErrors(form);
      var params = new URLSearchParams(new FormData(form));
      region.setAttribute("aria-busy", "true");
      fetch(form.dataset.api + "?" + params.toString(), {
        headers: { "Accept": "application/json" }, credentials: "same-origin"
      }).then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      }).then(function (answer) {
        region.removeAttribute("aria-busy");
        if (answer.ok) { render(region, answer.data); }
        else if (answer.data && answer.data.error) { showError(form, region, answer.data.error); }
        else { form.submit(); }
      }).catch(function () {
        region.removeAttribute("aria-busy");
        form.submit();  /* the server-rendered page still works */
      });
    });
  }

  function init() {
    document.querySelectorAll("form[data-fee-calculator]").forEach(enhance);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); }
  else { init(); }
})();
