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
      ws.onmessage = function (e) { on.frame(JSON.parse(e.data)); };
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
