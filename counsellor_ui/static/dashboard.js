// Live dashboard: the queue and "Your chats" arrive over /counsellor/ws.
// Everything shown is set with textContent, never as HTML.
(function () {
  "use strict";
  var body = document.getElementById("queue-body");
  if (!body) return;
  var table = document.getElementById("queue");
  var empty = document.getElementById("queue-empty");
  var count = document.getElementById("queue-count");
  var available = document.getElementById("available-count");
  var template = document.getElementById("row-template");
  var mineList = document.getElementById("mine");
  var mineEmpty = document.getElementById("mine-empty");
  var mineCount = document.getElementById("mine-count");
  var alerts = document.getElementById("alerts");
  var maxChats = mineCount.dataset.max;
  var baseTitle = document.title.replace(/^\(\d+\) /, "");
  var known = null;

  function waiting(since) {
    var s = Math.max(0, Math.floor((Date.now() - new Date(since).getTime()) / 1000));
    if (s < 60) return "waiting under 1 min";
    var m = Math.floor(s / 60);
    if (m < 60) return "waiting " + m + " min";
    return "waiting " + Math.floor(m / 60) + " h " + (m % 60) + " min";
  }

  // An alert stays until dismissed; a newer alert of the same kind replaces it.
  function alert(kind, text, href, linkText) {
    var old = alerts.querySelector('[data-kind="' + kind + '"]');
    if (old) old.remove();
    var p = document.createElement("p");
    p.className = "notice";
    p.dataset.kind = kind;
    p.textContent = text + " ";
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = linkText;
      p.append(a, " ");
    }
    var dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "secondary small";
    dismiss.textContent = "Dismiss";
    dismiss.addEventListener("click", function () { p.remove(); });
    p.appendChild(dismiss);
    alerts.appendChild(p);
  }

  function renderQueue(rows) {
    var fresh = [];
    body.textContent = "";
    rows.forEach(function (row) {
      var tr = template.content.firstElementChild.cloneNode(true);
      tr.dataset.session = row.session_id;
      tr.className = "p-" + row.priority;
      tr.querySelector(".pos").textContent = row.position;
      var prio = tr.querySelector(".prio");
      prio.textContent = row.priority_label;
      prio.classList.add("p-" + row.priority);
      if (row.risk && row.risk !== "none") prio.classList.add("risk-" + row.risk);
      tr.querySelector(".front").hidden = !row.front;
      tr.querySelector(".away").hidden = !row.person_away;
      tr.querySelector(".why").textContent = row.why;
      var w = tr.querySelector(".waiting");
      w.dataset.since = row.queued_at;
      w.textContent = waiting(row.queued_at);
      tr.querySelector(".mood").textContent = row.mood || "\u2013";
      tr.querySelector(".locale").textContent = row.locale;
      tr.querySelector(".preview").textContent = row.preview;
      var form = tr.querySelector("form.claim");
      form.action = "/counsellor/sessions/" + row.session_id + "/claim";
      form.querySelector("button").setAttribute("aria-label", "Claim chat " + row.session_id);
      if (known && !known.has(row.session_id)) { tr.classList.add("new"); fresh.push(row); }
      body.appendChild(tr);
    });
    known = new Set(rows.map(function (r) { return r.session_id; }));
    table.hidden = rows.length === 0;
    empty.hidden = rows.length !== 0;
    count.textContent = "(" + rows.length + ")";
    document.title = (rows.length ? "(" + rows.length + ") " : "") + baseTitle;
    if (fresh.length) announce(fresh);
  }

  function renderMine(mine) {
    mineList.textContent = "";
    mine.forEach(function (chat) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "/counsellor/sessions/" + chat.session_id;
      a.textContent = "Open chat " + chat.session_id;
      var badge = document.createElement("span");
      badge.className = "badge p-" + chat.priority;
      badge.textContent = chat.priority_label;
      li.append(a, " \u00b7 ", badge);
      if (chat.mood) li.append(" \u00b7 mood: " + chat.mood);
      if (chat.person_waiting) {
        var strong = document.createElement("strong");
        strong.textContent = "waiting for your reply";
        li.append(" \u00b7 ", strong);
      }
      mineList.appendChild(li);
    });
    mineEmpty.hidden = mine.length !== 0;
    mineCount.textContent = "(" + mine.length + " of " + maxChats + ")";
  }

  function announce(rows) {
    var crisis = rows.some(function (r) { return r.priority === "crisis"; });
    var text = crisis ? "Someone in crisis is waiting." : "Someone new is waiting.";
    alert("arrival", text);
    if ("Notification" in window && Notification.permission === "granted") {
      new Notification(text, { body: "Open the Haven queue to claim the chat.", tag: "haven-queue" });
    }
  }

  function connect() {
    HavenLive.connect("/counsellor/ws", { frame: function (frame) {
      if (frame.type === "queue") {
        renderQueue(frame.rows);
        renderMine(frame.mine);
        // Only when it changes: the figure is a live region, and the queue comes every heartbeat.
        var figure = frame.available + (frame.available === 1 ? " counsellor" : " counsellors") + " free of " + frame.on_duty + " on duty";
        if (available.textContent !== figure) available.textContent = figure;
      } else if (frame.type === "transferred") {
        var text = frame.from_name + " passed chat " + frame.session_id + " to you.";
        alert("transfer-" + frame.session_id, text, "/counsellor/sessions/" + frame.session_id, "Open chat " + frame.session_id);
        if ("Notification" in window && Notification.permission === "granted") {
          new Notification(text, { tag: "haven-transfer-" + frame.session_id });
        }
      }
    } });
  }

  document.addEventListener("click", function () {
    if ("Notification" in window && Notification.permission === "default") Notification.requestPermission();
  }, { once: true });
  setInterval(function () {
    body.querySelectorAll(".waiting").forEach(function (el) { el.textContent = waiting(el.dataset.since); });
  }, 15000);
  connect();
})();
