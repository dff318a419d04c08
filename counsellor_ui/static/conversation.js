// Live chat for the counsellor: transcript updates, typing both ways, sending with delivery marks.
(function () {
  "use strict";
  var log = document.getElementById("transcript");
  if (!log) return;
  var sessionId = log.dataset.session;
  var form = document.getElementById("compose");
  var input = document.getElementById("message");
  var typingLine = document.getElementById("typing");
  var stateLine = document.getElementById("chat-state");
  var ws = null;
  var delay = 1000;
  var pending = {};
  var typingSent = false;
  var typingTimer = null;

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    });
  }

  function who(frame) {
    if (frame.sender === "user") return "Person";
    if (frame.sender === "bot") return "Bot (automatic)";
    if (frame.sender === "counsellor") return frame.name || "Counsellor";
    return "System";
  }

  function line(frame) {
    var li = document.createElement("li");
    li.className = "msg from-" + frame.sender;
    li.dataset.seq = frame.seq;
    var w = document.createElement("span"); w.className = "who"; w.textContent = who(frame);
    var t = document.createElement("time"); t.setAttribute("datetime", frame.at);
    var p = document.createElement("p"); p.className = "text"; p.textContent = frame.text;
    li.append(w, " ", t, p);
    localTimes(li);
    return li;
  }

  function add(frame) {
    if (log.querySelector('[data-seq="' + frame.seq + '"]')) return;
    var mine = frame.client_id && pending[frame.client_id];
    if (mine) { mine.replaceWith(line(frame)); delete pending[frame.client_id]; }
    else log.appendChild(line(frame));
    log.scrollTop = log.scrollHeight;
  }

  function send(obj) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(obj)); }

  function connect() {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/counsellor/ws?session=" + sessionId);
    ws.onopen = function () {
      delay = 1000;
      Object.keys(pending).forEach(function (id) { send({ type: "say", client_id: id, text: pending[id].dataset.text }); });
    };
    ws.onmessage = function (e) {
      var f = JSON.parse(e.data);
      if (f.type === "message") add(f);
      else if (f.type === "ack" && pending[f.client_id]) pending[f.client_id].querySelector(".mark").textContent = "Delivered";
      else if (f.type === "typing") typingLine.textContent = f.on ? "The person is typing\u2026" : "";
      else if (f.type === "state") {
        if (f.state === "closed") {
          stateLine.textContent = "This chat has ended.";
          if (form) form.hidden = true;
        } else if (f.state === "queued") stateLine.textContent = "This chat went back to the queue.";
      } else if (f.type === "error") stateLine.textContent = f.message;
    };
    ws.onclose = function (e) {
      if (e.code === 1008) { stateLine.textContent = "You are no longer connected to this chat."; return; }
      stateLine.textContent = "Connection lost. Reconnecting\u2026";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  if (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      var id = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
      var li = line({ sender: "counsellor", seq: "", text: text, at: new Date().toISOString(), name: "You" });
      li.classList.add("pending");
      li.dataset.text = text;
      var mark = document.createElement("span"); mark.className = "mark muted"; mark.textContent = " Sending\u2026";
      li.querySelector(".who").after(mark);
      pending[id] = li;
      log.appendChild(li);
      log.scrollTop = log.scrollHeight;
      send({ type: "say", client_id: id, text: text });
      input.value = "";
      if (typingSent) { send({ type: "typing", on: false }); typingSent = false; }
      input.focus();
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
    });
    input.addEventListener("input", function () {
      if (!typingSent) { send({ type: "typing", on: true }); typingSent = true; }
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { send({ type: "typing", on: false }); typingSent = false; }, 3000);
    });
  }
  localTimes(log);
  log.scrollTop = log.scrollHeight;
  connect();
})();
