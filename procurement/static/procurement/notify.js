/* In-site notifications pushed over ws/notifications/ (procurement.consumers.
   NotificationConsumer): each new message shows a small toast, and an element marked
   data-notification-count (if the page has one) shows the unread count. Include it only for
   signed-in users; the server refuses anonymous sockets. No inline styles: the toast is
   styled through the CSSOM, which the site's CSP allows. */
(function () {
  "use strict";

  if (!("WebSocket" in window)) return;

  var region = null;
  var attempts = 0;
  var everOpened = false;

  function toastRegion() {
    if (region) return region;
    region = document.createElement("div");
    region.className = "mp-toasts";
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    var s = region.style;
    s.position = "fixed";
    s.right = "1rem";
    s.bottom = "1rem";
    s.zIndex = "1000";
    s.display = "flex";
    s.flexDirection = "column";
    s.gap = ".5rem";
    s.maxWidth = "22rem";
    document.body.appendChild(region);
    return region;
  }

  function toast(notification) {
    var box = document.createElement(notification.url ? "a" : "div");
    box.className = "mp-toast";
    if (notification.url) box.href = notification.url;
    var s = box.style;
    s.display = "block";
    s.padding = ".75rem 1rem";
    s.borderRadius = ".4rem";
    s.background = "#1f2937";
    s.color = "#fff";
    s.textDecoration = "none";
    s.boxShadow = "0 4px 12px rgba(0,0,0,.2)";
    var title = document.createElement("strong");
    title.textContent = notification.title || "";
    box.appendChild(title);
    if (notification.body) {
      var body = document.createElement("div");
      body.textContent = notification.body;
      body.style.fontSize = ".9rem";
      body.style.marginTop = ".25rem";
      box.appendChild(body);
    }
    toastRegion().appendChild(box);
    window.setTimeout(function () {
      if (box.parentNode) box.parentNode.removeChild(box);
    }, 8000);
  }

  function updateCount(unread) {
    var counters = document.querySelectorAll("[data-notification-count]");
    Array.prototype.forEach.call(counters, function (counter) {
      var value = typeof unread === "number" ? unread : (parseInt(counter.textContent, 10) || 0) + 1;
      counter.textContent = String(value);
      counter.dataset.notificationCount = String(value);
      counter.hidden = value === 0;
    });
  }

  function schedule() {
    // Refused before ever opening, several times: probably signed out; stop trying.
    if (!everOpened && attempts >= 5) return;
    var ceiling = Math.min(60000, 2000 * Math.pow(2, attempts));
    attempts += 1;
    window.setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    try {
      socket = new WebSocket(scheme + window.location.host + "/ws/notifications/");
    } catch (e) {
      schedule();
      return;
    }
    socket.addEventListener("open", function () {
      everOpened = true;
      attempts = 0;
    });
    socket.addEventListener("message", function (raw) {
      var message;
      try {
        message = JSON.parse(raw.data);
      } catch (e) {
        return;
      }
      if (message.type === "notification" && message.notification) {
        toast(message.notification);
        updateCount(message.unread);
      }
    });
    socket.addEventListener("close", function (event) {
      if (event.code === 4401) return; // not signed in
      schedule();
    });
  }

  connect();
})();
