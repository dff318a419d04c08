// A transcript line as the chat page and the watch page draw it, from a message
// frame of /counsellor/ws. Everything is set with textContent, never as HTML.
(function () {
  "use strict";
  if (window.HavenTranscript) return;

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = HavenClock(d);
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
    var p = document.createElement("p"); p.className = "text"; window.havenShown(p, frame.text);
    li.append(w, " ", t);
    if (mark) {
      var m = document.createElement("span"); m.className = "mark"; m.textContent = mark;
      li.append(" ", m);
    }
    li.append(p);
    localTimes(li);
    return li;
  }

  // A supervisor's private word to the counsellor: drawn apart from the messages,
  // saying plainly that the person cannot see it.
  function whisper(frame) {
    var li = document.createElement("li");
    li.className = "whisper";
    var w = document.createElement("span"); w.className = "who";
    w.textContent = "Staff only, never shown to the person: from " + frame.from_name;
    var t = document.createElement("time"); t.setAttribute("datetime", frame.at);
    var p = document.createElement("p"); p.className = "text"; window.havenShown(p, frame.text);
    li.append(w, " ", t, p);
    localTimes(li);
    return li;
  }

  window.HavenTranscript = { line: line, whisper: whisper, localTimes: localTimes };
})();
