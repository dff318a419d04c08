// The workspace's live channel, shared by every page: one websocket to
// /counsellor/ws that reconnects by itself with exponential backoff and jitter
// (so a restarted gateway is not hit by every counsellor at the same instant).
// Close code 1008 means signed out or refused: no reconnect.
window.HavenLive = {
  connect: function (path, on) {
    var ws = null;
    var delay = 1000;
    function open() {
      var target = typeof path === "function" ? path() : path;
      ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + target);
      ws.onopen = function () { delay = 1000; if (on.open) on.open(); };
      ws.onmessage = function (e) { on.frame(JSON.parse(e.data)); };
      ws.onclose = function (e) {
        if (e.code === 1008) {
          if (on.refused) on.refused(); else location.href = "/counsellor/sign-in";
          return;
        }
        if (on.lost) on.lost();
        setTimeout(open, delay / 2 + Math.random() * delay);
        delay = Math.min(delay * 2, 30000);
      };
    }
    open();
    return {
      send: function (obj) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(obj)); }
    };
  }
};
