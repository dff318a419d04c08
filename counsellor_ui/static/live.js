// The workspace's live channel, shared by every page: one websocket to
// /counsellor/ws that reconnects by itself with exponential backoff and jitter
// (so a restarted gateway is not hit by every counsellor at the same instant).
// Close code 1008 means signed out or refused: no reconnect.
//
// Every signed-in page loads this file (base.html). The open socket is what keeps
// a counsellor present (on duty) while they work: a page that opens no socket of
// its own (canned responses, staff accounts, a wrap-up form, a chat that has
// ended) opens a presence-only one, so moving between pages never takes a
// counsellor off duty. Loaded twice (a page that also names it), it runs once.
(function () {
  "use strict";
  if (window.HavenLive) return;
  var presence = null;

  function open(path, on) {
    var ws = null;
    var delay = 1000;
    var stopped = false;
    function start() {
      var target = typeof path === "function" ? path() : path;
      ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + target);
      ws.onopen = function () { delay = 1000; if (on.open) on.open(); };
      ws.onmessage = function (e) {
        var frame = JSON.parse(e.data);
        if (frame.type === "transfer_offer") transferOffer(frame);
        on.frame(frame);
      };
      ws.onclose = function (e) {
        if (stopped) return;
        if (e.code === 1008) {
          if (on.refused) on.refused(); else location.href = "/counsellor/sign-in";
          return;
        }
        if (on.lost) on.lost();
        setTimeout(start, delay / 2 + Math.random() * delay);
        delay = Math.min(delay * 2, 30000);
      };
    }
    start();
    return {
      send: function (obj) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(obj)); },
      stop: function () { stopped = true; if (ws) ws.close(1000); }
    };
  }

  // --- Transfer offers (gateway/actions/handover.py), on whichever page is open ---
  // The colleague asked reads the handover note and accepts or declines; the
  // sender sees that the offer is waiting and what became of it. Buttons post
  // with fetch, so nothing typed elsewhere on the page is lost.
  var offers = null;
  var offerLive = null;
  var ENDINGS = {
    incoming: {
      cancelled: "{from} cancelled the offer of chat {id}.",
      expired: "The offer of chat {id} from {from} timed out; it stays with {from}.",
      withdrawn: "The offer of chat {id} from {from} was withdrawn."
    },
    outgoing: {
      accepted: "{to} accepted chat {id}; it is with them now.",
      declined: "{to} declined chat {id}. It stays with you.",
      cancelled: "You cancelled the offer of chat {id}. It stays with you.",
      expired: "{to} did not answer in time. Chat {id} stays with you.",
      withdrawn: "The offer of chat {id} to {to} was withdrawn (they signed out or the chat changed)."
    }
  };
  function words(text, frame) {
    return text.replace(/\{from\}/g, frame.from_name).replace(/\{to\}/g, frame.to_name).replace(/\{id\}/g, frame.session_id);
  }
  function offerArea() {
    if (!offers) {
      offers = document.createElement("div");
      offers.className = "offers";
      offers.setAttribute("role", "region");
      offers.setAttribute("aria-label", "Transfer offers");
      offerLive = document.createElement("p");
      offerLive.className = "visually-hidden";
      offerLive.setAttribute("aria-live", "assertive");
      // At the top of the page, in its flow (the chat page's panes give it room).
      var main = document.getElementById("main") || document.body;
      main.prepend(offers, offerLive);
    }
    return offers;
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }
  function post(url) {
    var token = document.querySelector('input[name="csrf_token"]');
    var body = new URLSearchParams();
    body.set("csrf_token", token ? token.value : "");
    return fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.json(); });
  }
  function button(text, cls, describedBy, act) {
    var b = el("button", cls, text);
    b.type = "button";
    b.setAttribute("aria-describedby", describedBy);
    b.addEventListener("click", act);
    return b;
  }
  // On the chat page itself the sender reads it all under Transfer, not in a banner:
  // "Waiting for Jo to accept." with Cancel transfer, then what became of the offer.
  function stateLine(frame, base) {
    var line = document.querySelector('[data-role="transfer-state"][data-session="' + frame.session_id + '"]');
    if (!line) return false;
    var offered = frame.status === "offered";
    var text = offered ? "Waiting for " + frame.to_name + " to accept." : ENDINGS.outgoing[frame.status];
    line.hidden = false;
    line.textContent = words(text || "", frame);
    if (offered) {
      line.append(" ", button("Cancel transfer", "secondary small", line.id, function (e) {
        e.target.disabled = true;
        post(base + "cancel");
      }));
    }
    var form = line.parentNode.querySelector("form");
    if (form) form.hidden = offered;
    if (!offered) {
      // The page's "Transfer offered to Jo" notice is out of date now.
      document.querySelectorAll("main > .notice").forEach(function (n) {
        if (/^Transfer offered to /.test(n.textContent)) n.remove();
      });
    }
    return true;
  }
  function transferOffer(frame) {
    var base = "/counsellor/sessions/" + frame.session_id + "/transfer/";
    if (!frame.incoming && stateLine(frame, base)) return;
    var area = offerArea();
    var id = "offer-" + frame.session_id;
    var old = document.getElementById(id);
    if (old) old.remove();
    var box = el("section", "offer " + (frame.incoming ? "incoming" : "outgoing"));
    box.id = id;
    var head = el("h2", "", "");
    head.id = id + "-h";
    box.setAttribute("aria-labelledby", head.id);
    box.appendChild(head);
    var actions = el("div", "offer-actions");
    var error = el("p", "offer-error");
    error.setAttribute("role", "alert");
    if (frame.status === "offered" && frame.incoming) {
      head.textContent = frame.from_name + " offers you chat " + frame.session_id;
      box.append(el("p", "muted small", "Handover note from " + frame.from_name + ":"), el("blockquote", "", frame.note));
      actions.append(
        button("Accept", "", head.id, function (e) {
          e.target.disabled = true;
          post(base + "accept").then(function (answer) {
            if (answer.ok) { location.href = answer.go; return; }
            error.textContent = answer.message;
            e.target.disabled = false;
          });
        }),
        button("Decline", "secondary", head.id, function () {
          post(base + "decline").then(function (answer) {
            box.remove();
            offerLive.textContent = answer.message;
          });
        })
      );
      offerLive.textContent = "Transfer offer: " + frame.from_name + " offers you chat " + frame.session_id +
        ". Handover note: " + frame.note + " Accept or decline it under Transfer offers.";
    } else if (frame.status === "offered") {
      head.textContent = "Chat " + frame.session_id + ": waiting for " + frame.to_name + " to accept";
      box.appendChild(el("p", "muted small", "The chat stays with you, live, until they accept."));
      actions.appendChild(button("Cancel transfer", "secondary", head.id, function (e) {
        e.target.disabled = true;
        post(base + "cancel");
      }));
    } else {
      var text = ENDINGS[frame.incoming ? "incoming" : "outgoing"][frame.status];
      if (!text) return; // accepted or declined by this counsellor: nothing more to say
      box.classList.add("settled");
      head.textContent = words(text, frame);
      actions.appendChild(button("Dismiss", "secondary", head.id, function () { box.remove(); }));
      offerLive.textContent = words(text, frame);
    }
    box.append(actions, error);
    area.appendChild(box);
  }

  window.HavenLive = {
    connect: function (path, on) {
      if (presence) { presence.stop(); presence = null; }
      window.HavenLive.used = true;
      return open(path, on);
    },
    used: false
  };

  // Page scripts are deferred and run before DOMContentLoaded: if none of them
  // connected by then, this page keeps the counsellor present on its own.
  document.addEventListener("DOMContentLoaded", function () {
    if (window.HavenLive.used) return;
    // Signed out meanwhile: stay on the page (a half-filled form is not lost).
    presence = open("/counsellor/ws?presence=1", { frame: function () {}, refused: function () {} });
  });
})();
