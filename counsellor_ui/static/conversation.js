// Live chat for the counsellor: transcript updates, typing both ways, sending with
// delivery marks, canned responses, and a draft that survives a reload.
// Everything shown is set with textContent, never as HTML.
(function () {
  "use strict";
  var log = document.getElementById("transcript");
  if (!log) return;
  var sessionId = log.dataset.session;
  var form = document.getElementById("compose");
  var input = document.getElementById("message");
  var typingLine = document.getElementById("typing");
  var stateLine = document.getElementById("chat-state");
  var personLine = document.getElementById("person-state");
  var queueMini = document.getElementById("queue-mini");
  var tools = document.querySelector(".chat-side");
  var draftKey = "haven-draft-" + sessionId;
  var live = null;
  var pending = {};
  var typingSent = false;
  var typingTimer = null;
  var closedForGood = false;

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

  function line(frame, mark) {
    var li = document.createElement("li");
    li.className = "msg from-" + frame.sender;
    if (frame.seq) li.dataset.seq = frame.seq;
    var w = document.createElement("span"); w.className = "who"; w.textContent = who(frame);
    var t = document.createElement("time"); t.setAttribute("datetime", frame.at);
    var p = document.createElement("p"); p.className = "text"; p.textContent = frame.text;
    li.append(w, " ", t);
    if (mark) {
      var m = document.createElement("span"); m.className = "mark"; m.textContent = mark;
      li.append(" ", m);
    }
    li.append(p);
    localTimes(li);
    return li;
  }

  function lastSeq() { return Number(log.dataset.after || 0); }

  function add(frame) {
    if (log.querySelector('[data-seq="' + frame.seq + '"]')) return;
    var mine = frame.client_id && pending[frame.client_id];
    if (mine) { mine.replaceWith(line(frame, "Delivered")); delete pending[frame.client_id]; }
    else log.appendChild(line(frame));
    if (frame.seq > lastSeq()) log.dataset.after = frame.seq;
    log.scrollTop = log.scrollHeight;
  }

  function stopChat(text) {
    stateLine.textContent = text;
    typingLine.textContent = "";
    if (form) form.hidden = true;
    if (tools) tools.querySelectorAll("form[action$='/release'], form[action$='/hand-back'], form[action$='/transfer'], form[action$='/wrap-up']").forEach(function (f) { f.hidden = true; });
  }

  function send(obj) { if (live) live.send(obj); }

  function onFrame(f) {
    if (f.type === "message") add(f);
    else if (f.type === "ack") {
      var li = pending[f.client_id];
      if (li) li.querySelector(".mark").textContent = "Delivered";
    } else if (f.type === "typing") typingLine.textContent = f.on ? "The person is typing\u2026" : "";
    else if (f.type === "person") {
      personLine.textContent = f.gone
        ? "The person's connection seems to have dropped (last heard from " + Math.round(f.seen_s / 60) + " min ago). They may come back."
        : "";
    } else if (f.type === "state") {
      if (f.state === "closed") { closedForGood = true; stopChat("This chat has ended."); }
      else if (f.state === "live" && !f.mine) { closedForGood = true; stopChat("This chat is now with " + (f.counsellor || "another counsellor") + "."); }
      else if (f.state === "queued") { closedForGood = true; stopChat("This chat went back to the queue."); }
      else if (f.state === "bot") { closedForGood = true; stopChat("This chat is back with the bot."); }
    } else if (f.type === "queue") {
      queueMini.textContent = "\u00b7 " + f.rows.length + " waiting";
    } else if (f.type === "error") {
      var failed = f.client_id && pending[f.client_id];
      if (failed) { failed.querySelector(".mark").textContent = "Not sent: " + f.message; delete pending[f.client_id]; }
      else stateLine.textContent = f.message;
    }
  }

  function connect() {
    live = HavenLive.connect(function () {
      return "/counsellor/ws?session=" + sessionId + "&after=" + lastSeq();
    }, {
      open: function () {
        if (!closedForGood && form && !form.hidden) stateLine.textContent = "Live: you are chatting with this person.";
        Object.keys(pending).forEach(function (id) { send({ type: "say", client_id: id, text: pending[id].dataset.text }); });
      },
      frame: onFrame,
      refused: function () { stopChat("You are no longer connected to this chat. Reload the page to see why."); },
      lost: function () { stateLine.textContent = "Connection lost. Reconnecting\u2026 Your chat is kept for you for a short while."; }
    });
  }

  function typing(on) {
    if (typingSent === on) return;
    typingSent = on;
    send({ type: "typing", on: on });
  }

  if (form) {
    input.value = sessionStorage.getItem(draftKey) || "";
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      var id = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
      var li = line({ sender: "counsellor", text: text, at: new Date().toISOString(), name: "You" }, "Sending\u2026");
      li.classList.add("pending");
      li.dataset.text = text;
      pending[id] = li;
      log.appendChild(li);
      log.scrollTop = log.scrollHeight;
      send({ type: "say", client_id: id, text: text });
      input.value = "";
      sessionStorage.removeItem(draftKey);
      clearTimeout(typingTimer);
      typing(false);
      input.focus();
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
    });
    input.addEventListener("input", function () {
      sessionStorage.setItem(draftKey, input.value);
      typing(true);
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { typing(false); }, 3000);
    });
    var insert = document.getElementById("insert-canned");
    if (insert) {
      insert.addEventListener("click", function () {
        var choice = document.getElementById("canned").selectedOptions[0];
        if (!choice) return;
        var text = choice.dataset.text;
        var start = input.selectionStart, end = input.selectionEnd;
        input.value = input.value.slice(0, start) + text + input.value.slice(end);
        input.focus();
        input.setSelectionRange(start + text.length, start + text.length);
        input.dispatchEvent(new Event("input"));
      });
    }
  }
  localTimes(document);
  log.scrollTop = log.scrollHeight;
  connect();
})();
