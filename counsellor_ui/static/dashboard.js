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
  var mineLive = document.getElementById("mine-live");
  var soundToggle = document.getElementById("crisis-sound");
  var csrf = document.querySelector('input[name="csrf_token"]').value;
  var baseTitle = document.title.replace(/^\([^)]*\) /, "");
  var known = null;
  var knownCrisis = new Set();
  var mineState = [];
  // Each row drawn, by what it shows. A session's row keeps its element for as long
  // as the session waits (what changed is written into it), so the queue arriving
  // every heartbeat or moving around it never takes a counsellor's focus or a click
  // in progress off a Claim button.
  var drawn = new Map();
  var SVG = "http://www.w3.org/2000/svg";
  var LEVELS = { imminent: "imminent danger", high: "high risk", concern: "concern" };

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

  // The row for a session or a flood: the one already drawn, brought up to date.
  function rowFor(key, row, make, fill) {
    var data = JSON.stringify(row);
    var had = drawn.get(key);
    if (had && had.data === data) return had.tr;
    var tr = had && fill ? fill(had.tr, row) : make(row);
    drawn.set(key, { data: data, tr: tr });
    return tr;
  }

  // Put ``trs`` in the table in order, moving only what is out of place.
  function place(trs) {
    var keep = new Set(trs);
    Array.from(body.children).forEach(function (tr) { if (!keep.has(tr)) tr.remove(); });
    trs.forEach(function (tr, i) {
      if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] || null);
    });
  }

  function sessionRow(row) {
    return fillSessionRow(template.content.firstElementChild.cloneNode(true), row);
  }

  function fillSessionRow(tr, row) {
    tr.dataset.session = row.session_id;
    tr.className = "p-" + row.priority;
    tr.querySelector(".pos").textContent = row.position;
    var prio = tr.querySelector(".prio");
    prio.textContent = row.priority_label;
    prio.className = "badge prio p-" + row.priority;
    if (row.risk && row.risk !== "none") prio.classList.add("risk-" + row.risk);
    tr.querySelector(".front").hidden = !row.front;
    tr.querySelector(".away").hidden = !row.person_away;
    tr.querySelector(".why").textContent = row.why;
    var w = tr.querySelector(".waiting");
    w.dataset.since = row.queued_at;
    w.textContent = waiting(row.queued_at);
    tr.querySelector(".mood").textContent = row.mood || "\u2013";
    tr.querySelector(".locale").textContent = row.locale;
    window.havenShown(tr.querySelector(".preview"), row.preview);
    var form = tr.querySelector("form.claim");
    form.action = "/counsellor/sessions/" + row.session_id + "/claim";
    form.querySelector("button").setAttribute("aria-label", "Claim chat " + row.session_id);
    return tr;
  }

  function renderQueue(rows) {
    var fresh = [];
    var trs = [];
    var floods = new Set();
    rows.forEach(function (row) {
      // A flood's sessions are one row, at its first one's place, and never alerted.
      if (row.flood) {
        if (!floods.has(row.flood)) {
          floods.add(row.flood);
          trs.push(rowFor("flood:" + row.flood, row, floodRow));
        }
        return;
      }
      var isNew = known && !known.has(row.session_id);
      var tr = rowFor("session:" + row.session_id, row, sessionRow, fillSessionRow);
      tr.classList.toggle("new", Boolean(isNew));
      if (isNew) fresh.push(row);
      // Someone already waiting who now writes in crisis is a crisis arrival too.
      else if (known && row.priority === "crisis" && !knownCrisis.has(row.session_id)) fresh.push(row);
      trs.push(tr);
    });
    place(trs);
    var shown = new Set(trs);
    drawn.forEach(function (had, key) { if (!shown.has(had.tr)) drawn.delete(key); });
    known = new Set(rows.map(function (r) { return r.session_id; }));
    knownCrisis = new Set(rows.filter(function (r) { return r.priority === "crisis"; }).map(function (r) { return r.session_id; }));
    // A crisis alert goes once its person is no longer waiting (claimed, or gone).
    alerts.querySelectorAll(".crisis-alert").forEach(function (box) {
      if (!known.has(Number(box.dataset.session))) box.remove();
    });
    table.hidden = rows.length === 0;
    empty.hidden = rows.length !== 0;
    count.textContent = "(" + rows.length + ")";
    document.title = titleCount(rows) + baseTitle;
    if (fresh.length) announce(fresh);
  }

  // One source's flood of sessions as one row (gateway/actions/floods.py), with
  // "Clear flood" for supervisors and admins.
  function floodRow(row) {
    var tr = document.createElement("tr");
    tr.className = "flood";
    tr.dataset.flood = row.flood;
    var pos = document.createElement("td");
    pos.textContent = row.position;
    var what = document.createElement("td");
    what.colSpan = 5;
    var strong = document.createElement("strong");
    strong.textContent = "Flood:";
    what.append(strong, " " + row.flood_summary + ", waiting after everyone else.");
    var action = document.createElement("td");
    if (table.dataset.supervisor) {
      var form = document.createElement("form");
      form.method = "post";
      form.action = "/counsellor/floods/" + encodeURIComponent(row.flood) + "/clear";
      form.className = "inline";
      [["csrf_token", csrf], ["back", "dashboard"]].forEach(function (pair) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = pair[0];
        input.value = pair[1];
        form.appendChild(input);
      });
      var button = document.createElement("button");
      button.type = "submit";
      button.className = "secondary";
      button.textContent = "Clear flood";
      button.setAttribute("aria-label", "Clear flood: close these sessions");
      form.appendChild(button);
      action.appendChild(form);
    }
    tr.append(pos, what, action);
    return tr;
  }

  // "(1 crisis, 3 waiting) Queue ..." so a crisis shows in the tab strip too.
  function titleCount(rows) {
    if (!rows.length) return "";
    var crises = rows.filter(function (r) { return r.priority === "crisis" && !r.flood; }).length;
    return "(" + (crises ? crises + " crisis, " : "") + rows.length + " waiting) ";
  }

  function renderMine(mine) {
    mineState = mine;
    mineList.textContent = "";
    mine.forEach(function (chat) {
      var li = document.createElement("li");
      li.dataset.session = chat.session_id;
      var a = document.createElement("a");
      a.href = "/counsellor/sessions/" + chat.session_id;
      a.textContent = "Open chat " + chat.session_id;
      var badge = document.createElement("span");
      badge.className = "badge p-" + chat.priority;
      badge.textContent = chat.priority_label;
      li.append(a, " \u00b7 ", badge);
      if (chat.mood) li.append(" \u00b7 mood: " + chat.mood);
      var waiting = document.createElement("span");
      waiting.className = "marker-waiting";
      waiting.append(" \u00b7 ");
      var strong = document.createElement("strong");
      strong.textContent = "waiting for your reply";
      waiting.appendChild(strong);
      var unread = document.createElement("span");
      unread.className = "badge unread-count";
      li.append(waiting, " ", unread);
      showMarkers(li, chat);
      mineList.appendChild(li);
    });
    mineEmpty.hidden = mine.length !== 0;
    mineCount.textContent = "(" + mine.length + " of " + maxChats + ")";
  }

  function showMarkers(li, chat) {
    li.querySelector(".marker-waiting").hidden = !chat.person_waiting;
    var unread = li.querySelector(".unread-count");
    unread.hidden = !chat.unread;
    unread.textContent = chat.unread + " new";
    unread.title = chat.unread + (chat.unread === 1 ? " message" : " messages") + " since you last wrote";
  }

  // A message arrived in one of your chats: its markers change in place.
  function marker(frame) {
    var chat = mineState.find(function (c) { return c.session_id === frame.session_id; });
    var li = mineList.querySelector('li[data-session="' + frame.session_id + '"]');
    if (!chat || !li) return;
    var more = frame.unread > chat.unread;
    chat.person_waiting = frame.person_waiting;
    chat.unread = frame.unread;
    showMarkers(li, chat);
    if (more) mineLive.textContent = "New message in chat " + frame.session_id + " (" + frame.unread + " unread).";
  }

  function announce(rows) {
    var crises = rows.filter(function (r) { return r.priority === "crisis"; });
    crises.forEach(crisisAlert);
    if (crises.length === rows.length) return;
    var text = "Someone new is waiting.";
    alert("arrival", text);
    notify(text, "Open the queue to claim the chat.", "haven-queue");
  }

  function notify(title, body, tag) {
    if ("Notification" in window && Notification.permission === "granted") {
      new Notification(title, { body: body, tag: tag });
    }
  }

  // A crisis arrival: its own colour, icon and words, a Claim button at hand, and
  // (only if switched on) a short tone. It never moves under reduced motion (CSS).
  function crisisAlert(row) {
    var level = LEVELS[row.risk] ? "Crisis: " + LEVELS[row.risk] : "Crisis";
    var kind = "crisis-" + row.session_id;
    var old = alerts.querySelector('[data-kind="' + kind + '"]');
    if (old) old.remove();
    var box = document.createElement("div");
    box.className = "notice crisis-alert risk-" + (row.risk || "none");
    box.dataset.kind = kind;
    box.dataset.session = row.session_id;
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "crisis-icon");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Crisis");
    var title = document.createElementNS(SVG, "title");
    title.textContent = "Crisis";
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("d", "M12 2 1 21h22L12 2zm0 5.5 1 8h-2l1-8zm-1.2 10h2.4V20h-2.4v-2.5z");
    path.setAttribute("fill", "currentColor");
    svg.append(title, path);
    var words = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = level;
    words.append(strong, " \u2013 someone is waiting (chat " + row.session_id + ").");
    if (row.why) {
      var why = document.createElement("span");
      why.className = "crisis-why";
      why.textContent = row.why;
      words.append(" ", why);
    }
    var form = document.createElement("form");
    form.method = "post";
    form.action = "/counsellor/sessions/" + row.session_id + "/claim";
    form.className = "inline";
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrf_token";
    token.value = csrf;
    var claim = document.createElement("button");
    claim.type = "submit";
    claim.textContent = "Claim chat " + row.session_id;
    form.append(token, claim);
    var dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "secondary small";
    dismiss.textContent = "Dismiss";
    dismiss.addEventListener("click", function () { box.remove(); });
    var actions = document.createElement("div");
    actions.className = "crisis-actions";
    actions.append(form, dismiss);
    box.append(svg, words, actions);
    alerts.prepend(box);
    notify(level + " \u2013 someone is waiting", "Chat " + row.session_id + ". Open the queue to claim it.", "haven-" + kind);
    if (soundToggle && soundToggle.checked) tone();
  }

  // --- the optional crisis sound: off unless switched on here, remembered per browser ---
  var SOUND_KEY = "haven.crisisSound";
  var audio = null;
  function armAudio() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    if (!audio) audio = new Context();
    if (audio.state === "suspended") audio.resume();
    return audio;
  }
  // Two short soft notes, made here (no audio file); nothing plays while the toggle is off.
  function tone() {
    var ctx = armAudio();
    if (!ctx) return;
    var start = ctx.currentTime + 0.05;
    [880, 660].forEach(function (hz, i) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      var at = start + i * 0.25;
      osc.type = "sine";
      osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.2);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(at);
      osc.stop(at + 0.22);
    });
    soundToggle.dataset.played = String(Number(soundToggle.dataset.played || 0) + 1);
  }
  if (soundToggle) {
    soundToggle.checked = localStorage.getItem(SOUND_KEY) === "on";
    soundToggle.addEventListener("change", function () {
      localStorage.setItem(SOUND_KEY, soundToggle.checked ? "on" : "off");
      if (soundToggle.checked) armAudio(); // a click is what lets a browser play sound later
    });
    // After a reload with the sound on, the first click or key press re-arms it.
    ["click", "keydown"].forEach(function (type) {
      document.addEventListener(type, function () { if (soundToggle.checked) armAudio(); }, { once: true });
    });
  }

  function connect() {
    HavenLive.connect("/counsellor/ws", { frame: function (frame) {
      if (frame.type === "queue") {
        renderQueue(frame.rows);
        renderMine(frame.mine);
        // Only when it changes: the figure is a live region, and the queue comes every heartbeat.
        var figure = frame.available + (frame.available === 1 ? " counsellor" : " counsellors") + " free of " + frame.on_duty + " on duty";
        if (available.textContent !== figure) available.textContent = figure;
      } else if (frame.type === "marker") {
        marker(frame);
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
