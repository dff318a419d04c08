// The watch page: a supervisor follows someone else's chat live (read-only),
// over /counsellor/ws?session=ID&watch=1. Once they have joined, the message box
// sends to the person through the same socket; the server checks the join again.
// Everything shown is set with textContent, never as HTML.
(function () {
  "use strict";
  var page = document.querySelector(".watch");
  if (!page) return;
  var sessionId = page.dataset.session;
  var log = page.querySelector(".transcript");
  var stateLine = page.querySelector("[data-role=chat-state]");
  var personLine = page.querySelector("[data-role=person-state]");
  var form = page.querySelector("[data-role=compose]");
  var input = form ? form.querySelector("textarea") : null;
  var ended = page.dataset.live !== "true";
  var pending = {};
  var live = null;

  function lastSeq() { return Number(log.dataset.after || 0); }

  function add(frame) {
    if (log.querySelector('[data-seq="' + frame.seq + '"]')) return;
    var mine = frame.client_id && pending[frame.client_id];
    var li = HavenTranscript.line(frame, mine ? "Delivered" : null);
    if (mine) { mine.replaceWith(li); delete pending[frame.client_id]; }
    else log.appendChild(li);
    if (frame.seq > lastSeq()) log.dataset.after = frame.seq;
    log.scrollTop = log.scrollHeight;
  }

  function stop(text) {
    ended = true;
    stateLine.textContent = text;
    personLine.hidden = true;
    if (form) { form.remove(); form = null; }
    page.querySelectorAll("[data-role=live-tools]").forEach(function (s) { s.hidden = true; });
    if (live) live.stop();
  }

  // Taken over (by this page's form, which is on its way to the chat page, or another tab).
  function yours() {
    stop("This chat is yours now. ");
    var a = document.createElement("a");
    a.href = "/counsellor/sessions/" + sessionId;
    a.textContent = "Open it on your chat page";
    stateLine.append(a);
  }

  function onFrame(f) {
    if (f.type === "message") add(f);
    else if (f.type === "ack") {
      var li = pending[f.client_id];
      if (li) li.querySelector(".mark").textContent = "Delivered";
    } else if (f.type === "person") {
      personLine.hidden = !f.gone;
      personLine.textContent = f.gone ? "The person's connection seems to have dropped. They may come back." : "";
    } else if (f.type === "state") {
      if (f.state === "erased") { log.textContent = ""; stop("The person deleted this conversation."); }
      else if (f.state === "live" && f.mine) yours();
      else if (f.state === "live") stateLine.textContent = "Read-only: " + (f.counsellor || "a counsellor") + " is chatting with this person.";
      else if (f.state === "closed") stop("This chat has ended.");
      else if (f.state === "queued") stop("This chat went back to the queue.");
      else if (f.state === "bot") stop("This chat is back with the bot.");
    } else if (f.type === "error") {
      var failed = f.client_id && pending[f.client_id];
      if (failed) { failed.querySelector(".mark").textContent = "Not sent: " + f.message; delete pending[f.client_id]; }
      else stateLine.textContent = f.message;
    }
  }

  if (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = input.value.trim();
      if (!text || !live) return;
      var id = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
      var li = HavenTranscript.line({ sender: "counsellor", text: text, at: new Date().toISOString(), name: "You" }, "Sending\u2026");
      li.classList.add("pending");
      pending[id] = li;
      log.appendChild(li);
      log.scrollTop = log.scrollHeight;
      live.send({ type: "say", client_id: id, text: text });
      input.value = "";
      input.focus();
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
    });
  }

  HavenTranscript.localTimes(document);
  log.scrollTop = log.scrollHeight;
  if (!ended) {
    live = HavenLive.connect(function () {
      return "/counsellor/ws?session=" + sessionId + "&watch=1&after=" + lastSeq();
    }, {
      frame: onFrame,
      refused: function () { stop("You are no longer connected to this chat. Reload the page."); },
      lost: function () { stateLine.textContent = "Connection lost. Reconnecting\u2026"; }
    });
  }
})();
