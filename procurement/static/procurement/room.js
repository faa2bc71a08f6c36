/* The live draw room (直播抽取): renders the room's state, then follows the websocket
   (procurement.consumers.DrawRoomConsumer). On every (re)connection the server sends a
   snapshot, which replaces the state; events change it until the next snapshot. The page is
   fully rendered server-side first; this only keeps it current. */
(function () {
  "use strict";

  var root = document.getElementById("room");
  if (!root) return;

  function readJson(id, fallback) {
    var el = document.getElementById(id);
    if (!el) return fallback;
    try {
      return JSON.parse(el.textContent);
    } catch (e) {
      return fallback;
    }
  }

  var state = readJson("room-state", {});
  var statuses = readJson("room-statuses", {});
  var t = readJson("room-i18n", { events: {} });
  var live = document.getElementById("room-live");
  var log = document.getElementById("room-log");
  var logged = {};
  var lang = document.documentElement.lang || "zh-CN";

  // --- helpers --------------------------------------------------------------------------

  function field(name) {
    return root.querySelector('[data-field="' + name + '"]');
  }

  function setText(name, value) {
    var el = field(name);
    if (el) el.textContent = value === null || value === undefined || value === "" ? "—" : String(value);
  }

  function show(el, visible) {
    if (el) el.hidden = !visible;
  }

  function stage(name, filled) {
    var section = root.querySelector('[data-stage="' + name + '"]');
    if (!section) return;
    show(section.querySelector("[data-empty]"), !filled);
    show(section.querySelector("[data-filled]"), filled);
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function clear(node) {
    while (node && node.firstChild) node.removeChild(node.firstChild);
  }

  function formatTime(iso) {
    if (!iso) return "—";
    var date = new Date(iso);
    if (isNaN(date.getTime())) return String(iso);
    try {
      return date.toLocaleString(lang, {
        timeZone: "Asia/Shanghai",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        hour12: false
      });
    } catch (e) {
      return date.toISOString();
    }
  }

  function format(template, values) {
    return String(template).replace(/%\((\w+)\)s/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  // --- the commitment check, in the viewer's own browser ----------------------------------

  function fromHex(hex) {
    var bytes = new Uint8Array(hex.length / 2);
    for (var i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
    return bytes;
  }

  function toHex(buffer) {
    return Array.prototype.map
      .call(new Uint8Array(buffer), function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  var checked = { secret: null, commitment: null };

  function checkCommitment(secret, commitment) {
    var out = field("check");
    if (!out || !secret || !commitment) return;
    if (checked.secret === secret && checked.commitment === commitment) return;
    checked = { secret: secret, commitment: commitment };
    if (!/^[0-9a-fA-F]*$/.test(secret) || secret.length % 2) {
      out.dataset.state = "bad";
      out.textContent = t.mismatch;
      return;
    }
    if (!(window.crypto && window.crypto.subtle)) {
      out.dataset.state = "unsupported";
      out.textContent = t.unsupported;
      return;
    }
    out.dataset.state = "pending";
    out.textContent = t.checking;
    window.crypto.subtle.digest("SHA-256", fromHex(secret)).then(function (digest) {
      if (checked.secret !== secret || checked.commitment !== commitment) return;
      var ok = toHex(digest) === String(commitment).toLowerCase();
      out.dataset.state = ok ? "ok" : "bad";
      out.textContent = ok ? t.verified : t.mismatch;
    });
  }

  // --- rendering --------------------------------------------------------------------------

  function agencyItem(agency) {
    var li = el("li", agency.name + " ");
    li.appendChild(el("span", agency.uscc || "", "muted"));
    return li;
  }

  function render() {
    var badge = field("status");
    if (badge) {
      badge.textContent = statuses[state.status] || state.status_label || state.status || "";
      badge.dataset.status = state.status || "";
    }
    var reason = field("reason");
    if (reason) {
      reason.textContent = state.reason || "";
      show(reason, !!state.reason);
    }
    var publicity = root.querySelector('[data-part="publicity"]');
    show(publicity, !!state.publicity_ends_at);
    if (state.publicity_ends_at) {
      setText("publicity", formatTime(state.publicity_ends_at));
      field("publicity").setAttribute("datetime", state.publicity_ends_at);
    }
    setText("commitment", state.commitment);

    var pool = state.pool;
    stage("pool", !!pool);
    if (pool) {
      setText("pool-size", pool.size);
      setText("pool-hash", pool.hash);
    }

    var drawn = state.draw;
    stage("reveal", !!drawn);
    if (drawn) {
      setText("secret", drawn.secret);
      setText("seed", drawn.seed);
      setText("beacon", drawn.beacon && drawn.beacon.value);
      // Against the commitment published before the draw (not the one the draw reports).
      checkCommitment(drawn.secret, state.commitment || drawn.commitment);
    }

    var ranking = state.ranking || [];
    stage("ranking", ranking.length > 0);
    var body = field("ranking");
    if (body) {
      clear(body);
      ranking.forEach(function (row) {
        var tr = el("tr");
        tr.appendChild(el("td", row.position));
        tr.appendChild(el("td", row.name));
        tr.appendChild(el("td", row.uscc, "nowrap"));
        var rank = el("td");
        rank.appendChild(el("code", row.rank, "room__hash"));
        tr.appendChild(rank);
        body.appendChild(tr);
      });
    }

    var result = state.result;
    stage("result", !!result);
    if (result) {
      var selected = field("selected");
      var alternates = field("alternates");
      clear(selected);
      clear(alternates);
      (result.selected || []).forEach(function (a) {
        selected.appendChild(agencyItem(a));
      });
      (result.alternates || []).forEach(function (a) {
        alternates.appendChild(agencyItem(a));
      });
      if (!(result.alternates || []).length) alternates.appendChild(el("li", "—"));
      var promotions = state.promotions || [];
      show(root.querySelector('[data-part="promotions"]'), promotions.length > 0);
      var list = field("promotions");
      clear(list);
      promotions.forEach(function (p) {
        list.appendChild(
          el("li", format(t.replaces, { promoted: p.promoted.name, declined: p.declined.name }))
        );
      });
    }
  }

  // --- events -----------------------------------------------------------------------------

  var apply = {
    published: function (d) {
      state.commitment = d.commitment || state.commitment;
      state.draw_at = d.draw_at || state.draw_at;
      state.status = "published";
    },
    pool_frozen: function (d) {
      state.pool = { size: d.pool_size, hash: d.pool_hash, registrants: d.registrants };
      if (state.status === "published") state.status = "closed";
    },
    secret_revealed: function (d) {
      state.draw = { secret: d.secret, commitment: d.commitment, seed: d.seed, beacon: d.beacon || {} };
      state.status = "selected";
    },
    ranking: function (d) {
      state.ranking = d.ranking || [];
      if (d.pool_size !== undefined && state.pool) state.pool.size = d.pool_size;
    },
    result: function (d) {
      state.result = { selected: d.selected || [], alternates: d.alternates || [] };
      state.status = "selected";
    },
    promoted: function (d) {
      state.promotions = state.promotions || [];
      var known = state.promotions.some(function (p) {
        return p.promoted.id === d.promoted.id;
      });
      if (!known) state.promotions.push({ declined: d.declined, promoted: d.promoted });
    },
    publicity: function (d) {
      state.status = "publicity";
      state.publicity_ends_at = d.until || state.publicity_ends_at;
    },
    awarded: function (d) {
      state.status = "awarded";
      state.awarded_at = d.awarded_at;
    },
    failed: function (d) {
      state.status = "failed";
      state.reason = d.reason || "";
    },
    suspended: function () {
      state.status = "suspended";
    },
    cancelled: function (d) {
      state.status = "cancelled";
      state.reason = d.reason || "";
    }
  };

  function logEvent(message) {
    if (!log || (message.id && logged[message.id])) return;
    if (message.id) logged[message.id] = true;
    var item = el("li");
    item.appendChild(el("time", formatTime(new Date().toISOString()), "muted"));
    item.appendChild(document.createTextNode(" " + ((t.events || {})[message.event] || message.event)));
    item.dataset.event = message.event;
    log.appendChild(item);
  }

  function onEvent(message) {
    var handler = apply[message.event];
    if (handler) handler(message.data || {});
    logEvent(message);
    render();
  }

  // --- the connection, with backoff -------------------------------------------------------

  function setLive(name) {
    if (!live) return;
    live.dataset.state = name;
    live.textContent = t[name] || "";
  }

  var attempts = 0;

  function schedule() {
    var ceiling = Math.min(30000, 1000 * Math.pow(2, attempts));
    attempts += 1;
    setLive("reconnecting");
    window.setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
  }

  function connect() {
    if (!("WebSocket" in window)) return;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    try {
      socket = new WebSocket(scheme + window.location.host + root.dataset.wsPath);
    } catch (e) {
      schedule();
      return;
    }
    if (live && live.dataset.state === "static") setLive("connecting");
    socket.addEventListener("open", function () {
      attempts = 0;
      setLive("live");
    });
    socket.addEventListener("message", function (raw) {
      var message;
      try {
        message = JSON.parse(raw.data);
      } catch (e) {
        return;
      }
      if (message.type === "snapshot") {
        delete message.type;
        state = message;
        render();
      } else if (message.type === "event") {
        onEvent(message);
      }
    });
    socket.addEventListener("close", function (event) {
      if (event.code === 4404) {
        setLive("gone");
        return;
      }
      schedule();
    });
  }

  render();
  connect();
})();
