/* Haven Gateway chat widget: plain JavaScript, no build step, no third-party
 * requests. Embedding: docs/widget.md. Wire protocol v1: docs/protocol.md. */
(function () {
'use strict';
if (window.HavenWidget) return; // embedded twice: keep the first

// --- tuning
const PROTOCOL = 1;
const MAX_LEN = 4000; // characters (PROTOCOL.md)
const COUNTER_FROM = 3500; // show "n characters left" from here
const BACKOFF_BASE = 500; // reconnect: up to 0.5 s, doubling ...
const BACKOFF_MAX = 30000; // ... to 30 s, full jitter
const STABLE_MS = 5000; // a link that lived this long resets backoff
const CONNECT_TIMEOUT = 15000; // no welcome this long after connecting: retry
const ACK_TIMEOUT = 20000; // say never acknowledged: assume a dead link
const TYPING_REPEAT = 4000; // typing:on re-sent at most this often
const TYPING_IDLE = 5000; // no keystroke this long: typing:off
const TYPING_SHOW = 20000; // hide a typing indicator left on
const EXIT_WINDOW = 1500; // three Escape presses within this: quick exit
const KEY = 'haven-widget:'; // sessionStorage key prefix
const DEFAULT_ACCENT = '#1f5f8b';
const DEFAULT_EXIT = 'https://www.bbc.co.uk/weather';

// --- text: all words shown. Add a language as a table with the same keys
// (docs/widget.md); a missing key falls back to English.
const STRINGS = {
en: {
  _intl: 'en-GB',
  _name: 'English', // the language's own name, on the switch to it
  title: 'Talk to us',
  launcher: 'Chat with us',
  close: 'Close chat',
  close_short: 'Close',
  quick_exit: 'Quick exit',
  exit_hint: 'Quick exit: press Esc three times.',
  state_bot: 'Chatting with the bot',
  state_queued: 'Waiting for a counsellor',
  state_live: 'Chatting with {name}',
  state_anon: 'Chatting with a counsellor',
  state_closed: 'Chat ended',
  conn_connecting: 'Connecting…',
  conn_lost: 'Connection lost. Reconnecting…',
  conn_wait: 'Connection lost. Reconnecting in {s} s',
  conn_offline: 'You are offline. We will reconnect when you are back online.',
  conn_blocked: 'We can’t connect to the chat right now. Please try again later.',
  reconnect: 'Reconnect now',
  try_again: 'Try again',
  log_label: 'Conversation',
  who_bot: 'Bot',
  counsellor: 'Counsellor',
  sr_name: '{name} (counsellor):',
  sr_you: 'You:',
  sr_system: 'Notice:',
  sending: 'Sending…',
  sent: 'Sent',
  not_sent: 'Not sent',
  retry: 'Retry',
  replies_label: 'Suggested replies',
  links_label: 'Call or text',
  typing_bot: 'The bot is typing…',
  typing_name: '{name} is typing…',
  typing_anon: 'The counsellor is typing…',
  queue_title: 'You are in the queue',
  queue_pos: 'You are number {n} in the queue.',
  queue_more: 'Other ways to get help',
  wait_shortly: 'Someone should be with you shortly.',
  wait_busy_range: 'Everyone is busy right now. The wait is likely about {lo} to {hi} minutes.',
  wait_busy_about: 'Everyone is busy right now. The wait is likely about {n} minutes.',
  wait_busy_upto: 'Everyone is busy right now. The wait is likely up to {hi} minutes.',
  wait_busy_one: 'Everyone is busy right now. The wait is likely about a minute.',
  wait_busy: 'Everyone is busy right now; we can’t say how long it will be.',
  wait_nobody: 'Nobody is on duty right now.',
  wait_closed: 'The service is closed right now.',
  wait: 'Estimated wait: about {n} minutes.',
  wait_one: 'Estimated wait: about 1 minute.',
  wait_soon: 'Estimated wait: less than a minute.',
  wait_unknown: 'We can’t estimate the wait right now.',
  available: 'Counsellors available now: {n}',
  on_duty: 'Counsellors on duty: {n}. Free to chat now: {m}.',
  help_intro: 'If you need to talk to someone now:',
  leave_queue: 'Leave the queue',
  talk_person: 'Talk to a person',
  end_chat: 'End chat',
  end_question: 'End this chat? You won’t be able to send more messages in it.',
  end_yes: 'Yes, end it',
  delete: 'Delete my conversation',
  delete_question: 'Delete this whole conversation from our system? This can’t be undone.',
  delete_yes: 'Yes, delete it',
  cancel: 'Cancel',
  erased: 'Your conversation has been deleted.',
  ended_note: 'This chat has ended.',
  new_chat: 'Start a new chat',
  rate_q: 'How did this chat feel for you?',
  rate_1: 'Very bad',
  rate_2: 'Bad',
  rate_3: 'Okay',
  rate_4: 'Good',
  rate_5: 'Very good',
  rate_hint: 'Optional. We keep your answer without your name or this conversation.',
  rate_comment: 'Anything you would like to add? (optional)',
  rate_send: 'Send answer',
  rate_skip: 'Skip',
  rate_pick: 'Choose an answer first, or press Skip.',
  rate_thanks: 'Thank you for telling us.',
  lang_label: 'Language',
  switch_question: 'Start again in {lang}? What you have written so far will be deleted.',
  switch_yes: 'Yes, start again',
  input_label: 'Your message',
  enter_hint: 'Press Enter to send. Press Shift and Enter for a new line.',
  chars_left: '{n} characters left',
  send: 'Send',
  err_generic: 'Something went wrong. Please try again.',
},
cy: {
  // The informal "ti" throughout, as the bot's Welsh script speaks (a native speaker
  // should review these before going live: docs/widget.md).
  _intl: 'cy-GB',
  _name: 'Cymraeg',
  title: 'Siarada â ni',
  launcher: 'Sgwrsia â ni',
  close: 'Cau’r sgwrs',
  close_short: 'Cau',
  quick_exit: 'Gadael yn gyflym',
  exit_hint: 'Gadael yn gyflym: pwysa Esc dair gwaith.',
  state_bot: 'Yn sgwrsio gyda’r bot',
  state_queued: 'Yn aros am gwnselydd',
  state_live: 'Yn sgwrsio gyda {name}',
  state_anon: 'Yn sgwrsio gyda chwnselydd',
  state_closed: 'Mae’r sgwrs wedi dod i ben',
  conn_connecting: 'Wrthi’n cysylltu…',
  conn_lost: 'Collwyd y cysylltiad. Yn ailgysylltu…',
  conn_wait: 'Collwyd y cysylltiad. Yn ailgysylltu ymhen {s} eiliad',
  conn_offline: 'Rwyt ti all-lein. Byddwn ni’n ailgysylltu pan fyddi di ar-lein eto.',
  conn_blocked: 'Allwn ni ddim cysylltu â’r sgwrs ar hyn o bryd. Rho gynnig arall arni nes ymlaen.',
  reconnect: 'Ailgysylltu nawr',
  try_again: 'Rhoi cynnig arall arni',
  log_label: 'Sgwrs',
  counsellor: 'Cwnselydd',
  sr_name: '{name} (cwnselydd):',
  sr_you: 'Ti:',
  sr_system: 'Hysbysiad:',
  sending: 'Yn anfon…',
  sent: 'Wedi’i hanfon',
  not_sent: 'Heb ei hanfon',
  retry: 'Ceisio eto',
  replies_label: 'Atebion awgrymedig',
  links_label: 'Ffonio neu decstio',
  typing_bot: 'Mae’r bot yn teipio…',
  typing_name: 'Mae {name} yn teipio…',
  typing_anon: 'Mae’r cwnselydd yn teipio…',
  queue_title: 'Rwyt ti yn y ciw',
  queue_pos: 'Rwyt ti’n rhif {n} yn y ciw.',
  queue_more: 'Ffyrdd eraill o gael help',
  wait_shortly: 'Dylai rhywun fod gyda ti cyn bo hir.',
  wait_busy_range: 'Mae pawb yn brysur ar hyn o bryd. Mae’r aros yn debygol o fod tua {lo} i {hi} munud.',
  wait_busy_about: 'Mae pawb yn brysur ar hyn o bryd. Mae’r aros yn debygol o fod tua {n} munud.',
  wait_busy_upto: 'Mae pawb yn brysur ar hyn o bryd. Mae’r aros yn debygol o fod hyd at {hi} munud.',
  wait_busy_one: 'Mae pawb yn brysur ar hyn o bryd. Mae’r aros yn debygol o fod tua munud.',
  wait_busy: 'Mae pawb yn brysur ar hyn o bryd; allwn ni ddim dweud pa mor hir fydd hi.',
  wait_nobody: 'Does neb ar ddyletswydd ar hyn o bryd.',
  wait_closed: 'Mae’r gwasanaeth ar gau ar hyn o bryd.',
  wait: 'Amser aros amcangyfrifedig: tua {n} munud.',
  wait_one: 'Amser aros amcangyfrifedig: tua 1 munud.',
  wait_soon: 'Amser aros amcangyfrifedig: llai na munud.',
  wait_unknown: 'Allwn ni ddim amcangyfrif yr amser aros ar hyn o bryd.',
  available: 'Cwnselwyr ar gael nawr: {n}',
  on_duty: 'Cwnselwyr ar ddyletswydd: {n}. Yn rhydd i sgwrsio nawr: {m}.',
  help_intro: 'Os oes angen i ti siarad â rhywun nawr:',
  leave_queue: 'Gadael y ciw',
  talk_person: 'Siarad â pherson',
  end_chat: 'Gorffen y sgwrs',
  end_question: 'Gorffen y sgwrs hon? Fyddi di ddim yn gallu anfon rhagor o negeseuon ynddi.',
  end_yes: 'Ie, ei gorffen',
  delete: 'Dileu fy sgwrs',
  delete_question: 'Dileu’r sgwrs gyfan hon o’n system? Does dim modd dadwneud hyn.',
  delete_yes: 'Ie, ei dileu',
  cancel: 'Canslo',
  erased: 'Mae dy sgwrs wedi’i dileu.',
  ended_note: 'Mae’r sgwrs hon wedi dod i ben.',
  new_chat: 'Dechrau sgwrs newydd',
  rate_q: 'Sut oedd y sgwrs hon i ti?',
  rate_1: 'Gwael iawn',
  rate_2: 'Gwael',
  rate_3: 'Iawn',
  rate_4: 'Da',
  rate_5: 'Da iawn',
  rate_hint: 'Dewisol. Rydyn ni’n cadw dy ateb heb dy enw na’r sgwrs hon.',
  rate_comment: 'Unrhyw beth arall hoffet ti ei ddweud? (dewisol)',
  rate_send: 'Anfon ateb',
  rate_skip: 'Hepgor',
  rate_pick: 'Dewisa ateb yn gyntaf, neu pwysa Hepgor.',
  rate_thanks: 'Diolch am ddweud wrthon ni.',
  lang_label: 'Iaith',
  switch_question: 'Dechrau eto yn {lang}? Bydd yr hyn rwyt ti wedi’i ysgrifennu hyd yma yn cael ei ddileu.',
  switch_yes: 'Ie, dechrau eto',
  input_label: 'Dy neges',
  enter_hint: 'Pwysa Enter i anfon. Pwysa Shift ac Enter am linell newydd.',
  chars_left: '{n} nod ar ôl',
  send: 'Anfon',
  err_generic: 'Aeth rhywbeth o’i le. Rho gynnig arall arni.',
},
};

// --- config
const script = document.currentScript || [].slice.call(document.querySelectorAll('script[src]'))
  .reverse().find((s) => /\/widget\.js([?#]|$)/.test(s.src));
const attr = (name) => (script && script.getAttribute('data-' + name)) || '';
const code = String(attr('locale') || document.documentElement.lang).trim().toLowerCase().split(/[-_]/)[0];
const known = (c) => typeof c === 'string' && Object.prototype.hasOwnProperty.call(STRINGS, c);
let LOCALE = known(store0('locale')) ? store0('locale') : known(code) ? code : 'en';
// Read before the store below exists: the language chosen earlier in this tab.
function store0(k) { try { return sessionStorage.getItem(KEY + k); } catch (e) { return null; } }

function t(key, vars) {
  let s = STRINGS[LOCALE][key];
  if (s == null) s = STRINGS.en[key];
  if (s == null) s = key;
  return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : s;
}

// data-gateway, or the script's origin (http -> ws, https -> wss) + /ws/chat.
function gatewayUrl() {
  let u;
  try { u = new URL(attr('gateway') || '/ws/chat', (script && script.src) || location.href); }
  catch (e) { u = new URL('/ws/chat', location.href); }
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  return (secure ? 'wss://' : 'ws://') + u.host + u.pathname + u.search;
}
function exitUrl() {
  try {
    const u = new URL(attr('exit-url') || DEFAULT_EXIT, location.href);
    if (u.protocol === 'https:' || u.protocol === 'http:') return u.href;
  } catch (e) { /* fall back */ }
  return DEFAULT_EXIT;
}
const GATEWAY = gatewayUrl();
const EXIT_URL = exitUrl();
let TITLE = attr('title') || t('title');
// The charity (name, accent, logo_url): the gateway writes it here as it serves this
// file, so the launcher has the right colour before any connection; `welcome` sends it
// again. The page's own data-accent wins (docs/widget.md).
const SERVED = /*HAVEN_SERVICE*/null;
let service = SERVED && typeof SERVED === 'object' ? SERVED : {};
const isColour = (c) => /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(c || '');
const accent = () => (isColour(attr('accent')) ? attr('accent') : isColour(service.accent) ? service.accent : DEFAULT_ACCENT);

// WCAG contrast: white text on the accent if it reaches 4.5:1, else near-black.
function luminance(hex) {
  const x = hex.length === 4 ? hex.replace(/\w/g, '$&$&') : hex;
  return [0.2126, 0.7152, 0.0722].reduce((sum, w, i) => {
    const v = parseInt(x.substr(1 + 2 * i, 2), 16) / 255;
    return sum + w * (v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
  }, 0);
}
function paint(el) {
  const ac = accent();
  const onWhite = 1.05 / (luminance(ac) + 0.05);
  el.style.setProperty('--ac', ac);
  el.style.setProperty('--on', onWhite >= 4.5 ? '#ffffff' : '#111111');
  el.style.setProperty('--act', onWhite >= 5.2 ? ac : '#1a1a1a'); // as text on white and light tints
}
// The logo: https, or any address on the gateway that served this script.
function logoUrl() {
  try {
    const u = new URL(String(service.logo_url || ''), (script && script.src) || location.href);
    const own = script && new URL(script.src).origin === u.origin;
    if (service.logo_url && (u.protocol === 'https:' || own)) return u.href;
  } catch (e) { /* no logo */ }
  return '';
}

// --- storage
// sessionStorage only: it dies with the tab. Never localStorage or cookies.
const store = {
  get(k) { try { return sessionStorage.getItem(KEY + k); } catch (e) { return null; } },
  set(k, v) { try { sessionStorage.setItem(KEY + k, v); } catch (e) { /* off */ } },
  del(k) { try { sessionStorage.removeItem(KEY + k); } catch (e) { /* off */ } },
  clearAll() {
    try { Object.keys(sessionStorage).forEach((k) => { if (!k.indexOf(KEY)) sessionStorage.removeItem(k); }); } catch (e) { /* off */ }
  },
};

// --- state
let token = store.get('token') || null;
let lastSeq = 0; // every seq up to it is shown: the resume point
let maxSeq = 0; // highest seq rendered at all
const seen = new Map(); // seq -> element: a seq is never shown twice
const pendingEls = new Map(); // client_id -> own message still without seq
let outbox = loadOutbox(); // own says until their ack
const controls = []; // leave, erase, ask_counsellor waiting for a link

let ws = null;
let connected = false; // socket open and welcome received
let retries = 0, retryAt = 0, welcomeAt = 0;
let retryAfter = 0; // ms the server asked us to wait (rate_limited's retry_after_s)
let retryTimer = null, countdownTimer = null, connectTimer = null, ackTimer = null;
let blocked = false; // refused (4400 / 1008 / 4429): wait for the person
let stopped = false; // leave or erase sent: do not reconnect
let erased = false, exiting = false, isOpen = false;
let unkept = false; // closed with nothing kept (consent declined): nothing to delete
let sessionState = null, counsellorName = null, queueInfo = null;
let typingFrom = null, typingTimer = null, typingOn = false, typingSentAt = 0, typingIdle = null;
let confirming = null; // 'end' | 'delete' | 'switch' | null
// From the server's welcome: the helplines in the session's language, and the
// languages it speaks (a switch is offered when this widget has words for two).
let helplines = loadJson('helplines');
let locales = [].concat(loadJson('locales') || []);
let hadCounsellor = store.get('had_counsellor') === '1'; // a rating is offered after
let rated = store.get('rated') || ''; // 'sent' | 'skipped'
let switchTo = null; // the language asked for, until the old session is deleted
let switching = null;
let askedAt = 0, escapes = [], stuck = true; // stuck: the log is scrolled to its end

function loadJson(k) {
  try { return JSON.parse(store.get(k) || 'null'); } catch (e) { return null; }
}

function loadOutbox() {
  try {
    const v = JSON.parse(store.get('outbox') || '[]');
    return Array.isArray(v) ? v.filter((i) => i && typeof i.id === 'string' && typeof i.text === 'string') : [];
  } catch (e) { return []; }
}
// Unsent text survives a reload of the page in this tab.
function saveOutbox() {
  if (!outbox.length) return store.del('outbox');
  store.set('outbox', JSON.stringify(outbox.map((i) => ({ id: i.id, text: i.text, value: i.value, failed: !!i.failed }))));
}

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID(); // secure contexts only
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (x) => x.toString(16).padStart(2, '0')).join('');
}

// --- styles
const CSS = `
:host{all:initial!important;display:block!important;position:fixed!important;right:0!important;bottom:0!important;z-index:2147483000!important}
*{box-sizing:border-box}
[hidden]{display:none!important}
.root{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1a1a1a;text-align:left}
.vh{position:absolute!important;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
p,h2,h3,ul{margin:0}
button{font:inherit;font-weight:600;line-height:1.2;cursor:pointer;border-radius:8px;min-height:44px;padding:.5rem .9rem;border:2px solid}
:focus-visible{outline:3px solid #1a1a1a;outline-offset:2px}
.primary,.launcher,.you .bubble{background:var(--ac);color:var(--on);border-color:var(--ac)}
.secondary{background:#fff;color:var(--act)}
.danger{background:#a4262c;color:#fff;border-color:#a4262c}
.link{background:none;border:0;color:var(--act);text-decoration:underline;font-weight:400;padding:.4rem .2rem;min-height:36px}
a{color:var(--act)}
.launcher,.panel{position:fixed;right:16px;bottom:16px}
.launcher{border-radius:99px;padding:.75rem 1.25rem;box-shadow:0 2px 10px #0004}
.panel{width:380px;max-width:calc(100vw - 32px);height:680px;max-height:calc(100vh - 32px);background:#fff;border:1px solid #c4c9d0;border-radius:12px;box-shadow:0 4px 24px #0003;display:flex;flex-direction:column;overflow-y:auto}
@media (max-width:480px),(max-height:520px){.panel{inset:0;width:100%;max-width:none;height:100%;max-height:none;border:0;border-radius:0}.hint{display:none}}
.head{background:var(--ac);color:var(--on);padding:.6rem .75rem;display:flex;gap:.5rem;align-items:center}
.head :focus-visible{outline-color:var(--on)}
.head button{padding:.4rem .6rem;font-size:.95rem;flex:none}
.titles{flex:1;min-width:0}
.org{font-size:.8rem;font-weight:600;overflow-wrap:break-word}
.org img{display:block;max-height:32px;max-width:160px;background:#fff;border-radius:4px;padding:2px;margin-bottom:.2rem}
h2{font-size:1.05rem;overflow-wrap:break-word}
.state,.conn,.foot{font-size:.875rem}
.exit{background:#fff;color:#1a1a1a;border-color:#fff}
.close{background:none;color:var(--on)}
.conn{background:#fdf1cc;color:#3b2f00;padding:.4rem .75rem;display:flex;gap:.5rem;align-items:center;justify-content:space-between;flex-wrap:wrap}
.conn button{min-height:36px;padding:.25rem .6rem;background:#fff;color:#3b2f00}
.queue{background:#eef3f8;border-bottom:1px solid #c4d2e0;padding:.3rem .75rem;font-size:.85rem}
.qline p{display:inline}
.queue .qtoggle{min-height:28px;padding:.1rem .1rem;font-size:.85rem;font-weight:600;margin-left:.2rem}
.qtoggle::after{content:" ▾" / "";text-decoration:none;display:inline-block}
.qtoggle[aria-expanded=true]::after{content:" ▴" / ""}
.qmore{max-height:min(30vh,12rem);overflow-y:auto;padding:.25rem 0 .35rem;border-top:1px solid #c4d2e0;margin-top:.2rem}
.qmore>*+*{margin-top:.35rem}
.help ul{list-style:none;margin:.25rem 0 0;padding:0;display:flex;flex-direction:column;gap:.35rem}
.help li{overflow-wrap:anywhere}
.help .links{margin-top:.2rem}
.help .links a{min-height:36px;padding:.2rem .65rem;font-size:.85rem}
.rate fieldset{border:0;margin:0;padding:0;min-width:0}
.rate legend{font-weight:700;padding:0;margin-bottom:.3rem}
.opts{display:flex;flex-wrap:wrap;gap:.35rem}
.opts label{display:inline-flex;align-items:center;gap:.3rem;margin:0;min-height:40px;padding:.2rem .6rem;border:2px solid #6b7280;border-radius:99px;font-weight:400;font-size:.9rem;cursor:pointer}
.opts input{margin:0;width:1.1rem;height:1.1rem;accent-color:var(--ac)}
.opts label:has(input:checked){border-color:var(--act);background:#eef3f8;font-weight:700}
.rate textarea{width:100%;margin-top:.1rem}
.rate .row{margin-top:.4rem}
.rerr{color:#a4262c;font-weight:600;font-size:.9rem}
.thanks{font-weight:600}
.lang{display:flex;flex-wrap:wrap;column-gap:.75rem}
.log{position:relative;flex:1;overflow-y:auto;padding:.75rem;display:flex;flex-direction:column;gap:.65rem;min-height:5.5rem}
.msg{max-width:88%;align-self:flex-start}
.you{align-self:flex-end}
.system,.local{align-self:center;max-width:100%;text-align:center;font-size:.9rem}
.who{font-size:.8rem;font-weight:700;margin-bottom:.15rem}
.system,.local,.who,.typing{color:#3f3f3f}
.bubble{padding:.5rem .75rem;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}
.bot .bubble{background:#eef0f3}
.counsellor .bubble{background:#e4f2e9;border-left:4px solid #2a6e46}
.meta{font-size:.75rem;color:#595959;margin-top:.2rem;display:flex;gap:.4rem;align-items:center;flex-wrap:wrap}
.you .meta{justify-content:flex-end}
.system .meta{justify-content:center}
.failed .st{color:#a4262c;font-weight:700}
.meta button{min-height:32px;padding:.15rem .5rem;font-size:.8rem}
.qr{display:flex;flex-wrap:wrap;gap:.4rem;margin-top:.5rem}
.links{list-style:none;display:flex;flex-wrap:wrap;gap:.4rem;margin:.4rem 0 0;padding:0}
.system .links{justify-content:center}
.links a{display:inline-flex;align-items:center;min-height:44px;padding:.35rem .8rem;border:2px solid var(--act);border-radius:99px;background:#fff;color:var(--act);font-weight:600;text-decoration:none}
.links a:hover{text-decoration:underline}
.text{white-space:pre-wrap;overflow-wrap:anywhere}
.qr button,.queue button{min-height:40px;padding:.35rem .75rem;text-align:left}
.typing{padding:0 .75rem .35rem;font-size:.85rem}
.notice{margin:.4rem .75rem 0;padding:.5rem .75rem;border-radius:8px;background:#fdecea;color:#7a1a1a;font-size:.9rem}
.ask{padding:.4rem .75rem 0}
.ask button{width:100%}
.ended,.composer{padding:.5rem .75rem;border-top:1px solid #e1e4e8}
.ended{display:flex;flex-direction:column;gap:.6rem;overflow-y:auto;max-height:55%}
.endrow{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;justify-content:space-between}
.ended .help{font-size:.9rem;border-top:1px solid #e1e4e8;padding-top:.5rem}
label{display:block;font-size:.85rem;font-weight:600;margin-bottom:.25rem}
.row{display:flex;gap:.5rem;align-items:flex-end;flex-wrap:wrap}
textarea{flex:1;min-width:0;font:inherit;color:#1a1a1a;background:#fff;border:2px solid #6b7280;border-radius:8px;padding:.45rem .6rem;resize:none;min-height:44px;max-height:9rem}
textarea:disabled{background:#f1f1f1}
.counter,.hint{font-size:.8rem;color:#595959}
.foot{padding:0 .75rem .4rem;display:flex;flex-wrap:wrap;column-gap:.75rem}
.hint{flex-basis:100%}
.confirm{margin:.25rem .75rem .6rem;padding:.6rem;border:1px solid #c4c9d0;border-radius:8px;background:#f6f7f9}
.confirm .row{margin-top:.5rem}
.panel>:not(.log){flex:none}
.panel>.ended{flex:0 1 auto;min-height:0}
@media (max-width:480px){.head button{padding:.35rem .5rem;font-size:.9rem}}
@media (max-height:520px){.head{padding:.35rem .75rem}.composer{padding:.35rem .75rem}.composer label{margin-bottom:.1rem}textarea{height:44px!important}.qmore{max-height:15vh}.log{padding:.5rem .75rem}}
.head{position:sticky;top:0;z-index:1}
@media (prefers-reduced-motion:no-preference){
.panel{animation:hw-rise .16s ease-out}
@keyframes hw-rise{from{opacity:0;transform:translateY(8px)}}
}
`;

// --- DOM
// h('p', {class, text, onclick, ...attributes}, children)
function h(tag, props, kids) {
  const el = document.createElement(tag);
  for (const k of Object.keys(props || {})) {
    const v = props[k];
    if (v == null || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k === 'class') el.className = v;
    else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...[].concat(kids || []).filter((c) => c != null && c !== false));
  return el;
}
const button = (cls, text, onclick, extra) => h('button', Object.assign({ type: 'button', class: cls, text, onclick }, extra));

// The helplines the server gave for the session's language (welcome), each with
// how to reach it and when, and its tap-to-call or tap-to-text links. An older
// server sends only lines of text with the queue (its `alternatives`).
function showHelp(el) {
  const list = h('ul');
  if (Array.isArray(helplines)) {
    for (const e of helplines) {
      if (!e || typeof e.name !== 'string') continue;
      list.appendChild(h('li', null, [h('b', { text: e.name }),
        typeof e.contact === 'string' && e.contact ? ': ' + e.contact : '', linkList(e.links)]));
    }
  } else if (queueInfo && Array.isArray(queueInfo.alternatives)) {
    for (const line of queueInfo.alternatives) if (typeof line === 'string') list.appendChild(h('li', { text: line }));
  }
  el.replaceChildren(h('p', { text: t('help_intro') }), list);
  el.hidden = !list.childElementCount;
}

function clock(iso) {
  const d = iso ? new Date(iso) : new Date();
  if (isNaN(d)) return '';
  return d.toLocaleTimeString([t('_intl'), 'en-GB'], { hour: '2-digit', minute: '2-digit' });
}

let host = null;
let shadow = null;
const ui = {};

function build() {
  host = document.createElement('haven-chat');
  shadow = host.attachShadow({ mode: 'open' });
  try { // a constructed sheet is not blocked by a strict style-src policy
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } catch (e) { shadow.appendChild(h('style', { text: CSS })); }
  const root = h('div', { class: 'root', lang: LOCALE });
  ui.root = root;
  paint(root);

  ui.launcher = button('launcher', t('launcher'), () => openPanel(true)); // hidden while open

  ui.stateLine = h('p', { class: 'state' });
  const head = h('div', { class: 'head' }, [
    h('div', { class: 'titles' }, [ui.org = h('div', { class: 'org', hidden: true }), h('h2', { id: 'hw-title', text: TITLE }), ui.stateLine]),
    button('exit', t('quick_exit'), quickExit),
    button('close', t('close_short'), () => closePanel(true), { 'aria-label': t('close') }),
  ]);

  ui.connText = h('span', { 'aria-hidden': 'true' });
  ui.connSr = h('span', { class: 'vh' }); // announced; the countdown is not
  ui.connBtn = button('', '', reconnectNow, { hidden: true });
  ui.connBox = h('div', { class: 'conn', hidden: true }, [ui.connText, ui.connBtn]);

  // The queue: one or two lines (place and wait) and a disclosure with the rest,
  // so that the conversation and the message box keep the room.
  ui.qPos = h('span');
  ui.qWait = h('span');
  ui.qAvail = h('p');
  ui.qHelp = h('div', { class: 'help' });
  ui.qMore = h('div', { id: 'hw-qmore', class: 'qmore', hidden: true },
    [ui.qHelp, ui.qAvail, button('secondary', t('leave_queue'), leaveChat)]); // the helplines first
  ui.qToggle = button('link qtoggle', t('queue_more'), () => setQueueMore(ui.qMore.hidden, true),
    { 'aria-expanded': 'false', 'aria-controls': 'hw-qmore' });
  ui.queue = h('section', { class: 'queue', 'aria-labelledby': 'hw-qh', hidden: true }, [
    h('h3', { id: 'hw-qh', class: 'vh', text: t('queue_title') }),
    h('div', { class: 'qline' }, [h('p', { role: 'status' }, [ui.qPos, ' ', ui.qWait]), ' ', ui.qToggle]),
    ui.qMore,
  ]);

  ui.log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': t('log_label'), tabindex: '0' });
  ui.typing = h('p', { class: 'typing', hidden: true });
  ui.notice = h('p', { class: 'notice', hidden: true });
  ui.ask = h('div', { class: 'ask', hidden: true }, button('secondary', t('talk_person'), askCounsellor));
  ui.endedText = h('p', { text: t('ended_note') });
  ui.newBtn = button('primary', t('new_chat'), newChat);
  ui.rate = ratingForm();
  ui.rateThanks = h('p', { class: 'thanks', hidden: true, text: t('rate_thanks') });
  ui.endHelp = h('div', { class: 'help', hidden: true });
  ui.ended = h('div', { class: 'ended', hidden: true }, [
    h('div', { class: 'endrow' }, [ui.endedText, ui.newBtn]),
    ui.rate, h('div', { role: 'status' }, ui.rateThanks), ui.endHelp,
  ]);

  ui.input = h('textarea', {
    id: 'hw-input', rows: '2', maxlength: MAX_LEN, 'aria-describedby': 'hw-hint hw-count',
    oninput: onInput, onkeydown: onInputKey,
  });
  ui.counter = h('p', { id: 'hw-count', class: 'counter', hidden: true });
  const form = ui.form = h('form', { class: 'composer', onsubmit: (e) => { e.preventDefault(); sendFromInput(); } }, [
    h('label', { for: 'hw-input', text: t('input_label') }),
    h('div', { class: 'row' }, [ui.input, h('button', { class: 'primary', text: t('send') })]),
    h('p', { id: 'hw-hint', class: 'vh', text: t('enter_hint') }),
    ui.counter,
  ]);

  ui.endBtn = button('link', t('end_chat'), () => showConfirm('end'));
  ui.delBtn = button('link', t('delete'), () => showConfirm('delete'));
  ui.lang = h('div', { class: 'lang', role: 'group', 'aria-label': t('lang_label') });
  ui.foot = h('div', { class: 'foot' }, [ui.endBtn, ui.delBtn, ui.lang, h('p', { class: 'hint', text: t('exit_hint') })]);
  ui.confirmQ = h('p', { id: 'hw-cq' });
  ui.confirmYes = button('danger', '', confirmYes);
  ui.confirmNo = button('secondary', t('cancel'), () => hideConfirm(true));
  ui.confirm = h('div', { class: 'confirm', role: 'group', 'aria-labelledby': 'hw-cq', hidden: true },
    [ui.confirmQ, h('div', { class: 'row' }, [ui.confirmYes, ui.confirmNo])]);

  ui.panel = h('div', {
    class: 'panel', role: 'dialog', 'aria-labelledby': 'hw-title', hidden: true,
  }, [
    head, h('div', { role: 'status' }, ui.connSr), ui.connBox, ui.queue, ui.log, ui.typing,
    h('div', { role: 'status' }, ui.notice), ui.ask, ui.ended, form, ui.confirm, ui.foot,
  ]);
  root.append(ui.launcher, ui.panel);
  showService();
  // Keep the newest message in view when the log shrinks (queue box, notices).
  // A scroll right after a resize is the browser's, not the person's.
  let logH = 0;
  ui.log.onscroll = () => {
    const l = ui.log;
    if (l.clientHeight === logH) stuck = l.scrollHeight - l.scrollTop - l.clientHeight < 80;
  };
  if (window.ResizeObserver) new ResizeObserver(() => { if (stuck) scrollDown(); logH = ui.log.clientHeight; }).observe(ui.log);
  shadow.appendChild(root);
  document.body.appendChild(host);

  // Own messages typed before a reload and never acknowledged.
  for (const item of outbox) {
    const el = ownMessage(item.id, item.text);
    ui.log.appendChild(el);
    if (item.failed) markFailed(item.id);
    else setStatus(el, 'sending');
  }
  showLocales();
  showHelplines();
  refresh();
}

// "How did this chat feel for you?": five answers in words, one comment, skippable.
function ratingForm() {
  const opts = [1, 2, 3, 4, 5].map((n) => h('label', null, [
    h('input', { type: 'radio', name: 'hw-score', value: String(n), onchange: () => { ui.rateError.hidden = true; } }),
    h('span', { text: t('rate_' + n) }),
  ]));
  ui.rateComment = h('textarea', { id: 'hw-rc', rows: '2', maxlength: '1000' });
  ui.rateError = h('p', { class: 'rerr', hidden: true });
  return h('form', { class: 'rate', hidden: true, onsubmit: (e) => { e.preventDefault(); sendRating(); } }, [
    h('fieldset', { 'aria-describedby': 'hw-rh' }, [h('legend', { text: t('rate_q') }), h('div', { class: 'opts' }, opts)]),
    h('p', { id: 'hw-rh', class: 'counter', text: t('rate_hint') }),
    h('div', { role: 'alert' }, ui.rateError),
    h('label', { for: 'hw-rc', text: t('rate_comment') }), ui.rateComment,
    h('div', { class: 'row' }, [h('button', { class: 'primary', text: t('rate_send') }), button('secondary', t('rate_skip'), skipRating)]),
  ]);
}

function sendRating() {
  const picked = ui.rate.querySelector('input:checked');
  if (!picked) {
    ui.rateError.textContent = t('rate_pick');
    ui.rateError.hidden = false;
    return ui.rate.querySelector('input').focus();
  }
  const frame = { type: 'rating', score: Number(picked.value) };
  const comment = ui.rateComment.value.trim().slice(0, 1000);
  if (comment) frame.comment = comment;
  sendControl(frame); // after leaving, this reconnects with the token to send it
  setRated('sent');
}

function skipRating() { setRated('skipped'); }

function setRated(how) {
  rated = how;
  store.set('rated', how);
  refresh();
  ui.newBtn.focus();
}

function setQueueMore(open, remember) {
  ui.qMore.hidden = !open;
  ui.qToggle.setAttribute('aria-expanded', String(open));
  if (remember) store.set('queue_more', open ? '1' : '0');
}

function showHelplines() {
  showHelp(ui.qHelp);
  showHelp(ui.endHelp);
}

// One button per other language this widget and the server both speak.
function showLocales() {
  const codes = locales.filter((c) => c !== LOCALE && known(c));
  ui.lang.replaceChildren(...codes.map((c) => button('link', STRINGS[c]._name, () => askSwitch(c), { lang: c })));
}

// --- view
function refresh() {
  const closed = erased || sessionState === 'closed' || sessionState === 'abandoned';
  const st = closed ? 'closed' : sessionState === 'live' && !counsellorName ? 'anon' : sessionState;
  ui.stateLine.textContent = /^(closed|anon|bot|queued|live)$/.test(st) ? t('state_' + st, { name: counsellorName }) : t('conn_connecting');
  ui.queue.hidden = sessionState !== 'queued' || !queueInfo;
  // Hidden while a quick reply says the same: one name, one button.
  const same = [...ui.log.querySelectorAll('.qr button')].some((b) => b.textContent === t('talk_person'));
  ui.ask.hidden = same || closed || !(sessionState === 'bot' || sessionState === null);
  ui.ended.hidden = !closed;
  ui.endedText.hidden = erased;
  if (closed && ui.form.contains(shadow.activeElement)) ui.newBtn.focus();
  ui.input.disabled = ui.form.hidden = closed;
  ui.endBtn.hidden = closed || !token;
  ui.delBtn.hidden = erased || unkept || !(token || seen.size);
  ui.rate.hidden = !closed || !hadCounsellor || !!rated || erased || unkept || !token;
  ui.rateThanks.hidden = !closed || rated !== 'sent';
  // Not while waiting for or talking with a counsellor: that would end it.
  ui.lang.hidden = !ui.lang.childElementCount || sessionState === 'queued' || sessionState === 'live' || !!switching;
  ui.foot.hidden = !!confirming;
  if (closed) setTyping(null);
}

function setConn(kind, seconds) {
  const text = kind ? t('conn_' + kind, { s: seconds }) : '';
  const btn = kind === 'blocked' ? t('try_again') : kind === 'wait' || kind === 'offline' ? t('reconnect') : '';
  const sr = kind === 'wait' ? t('conn_lost') : text;
  ui.connText.textContent = text;
  if (ui.connSr.textContent !== sr) ui.connSr.textContent = sr;
  if (ui.connBtn.textContent !== btn) ui.connBtn.textContent = btn;
  ui.connBtn.hidden = !btn;
  ui.connBox.hidden = !text;
}

function showNotice(text) {
  ui.notice.textContent = text || '';
  ui.notice.hidden = !text;
}

const focusInside = () => !!(shadow && shadow.activeElement);
const scrollDown = () => { ui.log.scrollTop = ui.log.scrollHeight; };

// --- messages
// kind: bot, counsellor, you, system. Screen readers hear who speaks first.
function messageEl(kind, text, at, name, links) {
  const who = kind === 'bot' ? t('who_bot') : kind === 'counsellor' ? name || t('counsellor') : null;
  const sr = kind === 'counsellor' && name ? t('sr_name', { name }) : who ? who + ':' : t('sr_' + kind);
  return h('div', { class: 'msg ' + kind }, [
    who && h('p', { class: 'who', 'aria-hidden': 'true', text: who }),
    h('p', { class: kind === 'system' ? 'text' : 'bubble' }, [h('span', { class: 'vh', text: sr + ' ' }), String(text == null ? '' : text)]),
    linkList(links),
    h('p', { class: 'meta' }, h('time', { datetime: at || new Date().toISOString(), text: clock(at) })),
  ]);
}

// Tap-to-call and tap-to-text for the numbers a message gives (the frame's
// optional `links`). Only tel: and sms: addresses are ever made into links.
const SAFE_HREF = /^(tel:\+?[0-9]+|sms:\+?[0-9]+(\?body=[A-Za-z0-9%._~-]*)?)$/;
function linkList(links) {
  if (!Array.isArray(links)) return null;
  const items = links.filter((l) => l && typeof l.label === 'string' && l.label && SAFE_HREF.test(String(l.href)))
    .map((l) => h('li', null, h('a', { href: l.href, text: l.label })));
  return items.length ? h('ul', { class: 'links', 'aria-label': t('links_label') }, items) : null;
}

function ownMessage(cid, text, at) {
  const el = messageEl('you', text, at);
  el.lastChild.appendChild(h('span', { class: 'st' }));
  if (cid) { el.dataset.cid = cid; pendingEls.set(cid, el); }
  return el;
}

function setStatus(el, status) {
  el.querySelector('.st').textContent = t(status);
  el.classList.toggle('failed', status === 'not_sent');
  for (const b of el.querySelectorAll('.meta button')) b.remove();
}

// Insert after the last element with a lower seq. Own messages still waiting
// for their seq (and failed ones) stay at the end.
function place(el, seq) {
  el.dataset.seq = seq;
  seen.set(seq, el);
  let ref = null;
  for (let c = ui.log.lastElementChild; c && !ref; c = c.previousElementSibling) {
    if (c !== el && c.dataset.seq && Number(c.dataset.seq) < seq) ref = c;
  }
  const before = ref ? ref.nextElementSibling : ui.log.firstElementChild;
  if (before !== el) ui.log.insertBefore(el, before);
  while (seen.has(lastSeq + 1)) lastSeq++;
  store.set('last_seq', lastSeq);
  if (seq > maxSeq) maxSeq = seq;
}

function onMessage(m) {
  if (typeof m.seq !== 'number' || m.seq < 1 || seen.has(m.seq)) return; // dedupe by seq
  const newest = m.seq > maxSeq;
  if (newest) clearQuickReplies();
  if (m.from === 'user') {
    if (m.client_id && pendingEls.has(m.client_id)) {
      confirmSent(m.client_id, m.seq); // ours: on resume or from another tab
    } else {
      const el = ownMessage(null, m.text, m.at);
      if (m.client_id) el.dataset.cid = m.client_id;
      setStatus(el, 'sent');
      place(el, m.seq);
    }
  } else {
    const kind = m.from === 'bot' || m.from === 'counsellor' ? m.from : 'system';
    // Who holds the chat comes from `state` frames (claim, transfer, take-over); a
    // message's name fills it only when none is known, so a supervisor who joins
    // and writes does not become the person the chat is "with".
    if (kind === 'counsellor' && m.name && !counsellorName) counsellorName = m.name;
    if (kind === 'counsellor') sawCounsellor();
    const el = messageEl(kind, m.text, m.at, kind === 'counsellor' ? m.name || counsellorName : null, kind === 'counsellor' ? null : m.links);
    place(el, m.seq);
    if (typingFrom === kind) setTyping(null);
    if (newest && kind === 'bot' && Array.isArray(m.quick_replies)) showQuickReplies(el, m.quick_replies);
  }
  if (stuck) scrollDown();
  refresh();
}

function clearQuickReplies() {
  for (const g of ui.log.querySelectorAll('.qr')) g.remove();
}

function showQuickReplies(el, replies) {
  const group = h('div', { class: 'qr', role: 'group', 'aria-label': t('replies_label') });
  for (const r of replies) {
    if (!r || typeof r.label !== 'string') continue;
    group.appendChild(button('secondary', r.label, () => {
      if (ui.input.disabled) return;
      group.remove();
      queueSay(r.label, r.value);
      ui.input.focus();
    }));
  }
  if (group.childElementCount) el.appendChild(group);
}

// The server has our message under seq (ack, or a message with our client_id).
function confirmSent(cid, seq) {
  const el = pendingEls.get(cid);
  pendingEls.delete(cid);
  outbox = outbox.filter((i) => i.id !== cid);
  saveOutbox();
  if (!el) return;
  if (seen.has(seq)) return el.remove();
  setStatus(el, 'sent');
  place(el, seq);
}

function markFailed(cid) {
  const el = pendingEls.get(cid);
  const item = outbox.find((i) => i.id === cid);
  if (item) { item.failed = true; item.sentAt = 0; saveOutbox(); }
  if (!el) return;
  setStatus(el, 'not_sent');
  el.lastChild.append(button('secondary', t('retry'), () => retry(item, el)));
}

function retry(item, el) {
  if (!item || !pendingEls.has(item.id)) return;
  item.failed = false;
  saveOutbox();
  setStatus(el, 'sending');
  showNotice('');
  ui.input.focus();
  transmit(item);
}

function setTyping(from) {
  clearTimeout(typingTimer);
  typingFrom = from;
  ui.typing.hidden = !from;
  ui.typing.textContent = !from ? '' : from === 'bot' ? t('typing_bot')
    : counsellorName ? t('typing_name', { name: counsellorName }) : t('typing_anon');
  if (from) typingTimer = setTimeout(() => setTyping(null), TYPING_SHOW);
}

// Forget what is shown; own messages not yet stored stay (they will be sent).
function clearTranscript() {
  ui.log.textContent = '';
  seen.clear();
  lastSeq = maxSeq = 0;
  store.set('last_seq', 0);
  for (const el of pendingEls.values()) ui.log.appendChild(el);
}

// --- sending
function sendFrame(frame) {
  if (!ws || ws.readyState !== 1) return false;
  try { ws.send(JSON.stringify(frame)); return true; } catch (e) { return false; }
}

function transmit(item) {
  if (!connected || item.failed) return;
  const frame = { type: 'say', client_id: item.id, text: item.text };
  if (item.value != null) frame.value = item.value;
  if (!sendFrame(frame)) return;
  item.sentAt = Date.now();
  if (!ackTimer) ackTimer = setTimeout(checkAcks, ACK_TIMEOUT);
}

const lastSent = () => outbox.filter((i) => i.sentAt && !i.failed).pop();

// No ack: probably a half-open link (the phone changed network). Resume.
function checkAcks() {
  ackTimer = null;
  const waiting = outbox.filter((i) => i.sentAt && !i.failed);
  if (!waiting.length) return;
  if (waiting.some((i) => Date.now() - i.sentAt >= ACK_TIMEOUT - 100)) { dropSocket(); scheduleReconnect(); }
  else ackTimer = setTimeout(checkAcks, ACK_TIMEOUT / 2);
}

function queueSay(text, value) {
  const item = { id: newId(), text };
  if (value != null) item.value = value;
  outbox.push(item);
  saveOutbox();
  const el = ownMessage(item.id, text);
  setStatus(el, 'sending');
  clearQuickReplies();
  ui.log.appendChild(el);
  scrollDown();
  showNotice('');
  transmit(item);
  refresh();
}

function sendFromInput() {
  const text = ui.input.value.trim();
  if (ui.input.disabled || !text || text.length > MAX_LEN) return ui.input.focus(); // empty: not sent
  queueSay(text, null);
  ui.input.value = '';
  onInput();
  ui.input.focus();
}

function sendControl(frame) {
  if (connected && sendFrame(frame)) {
    if (frame.type === 'leave' || frame.type === 'erase') stopped = true;
    return;
  }
  if (!controls.some((c) => c.type === frame.type)) controls.push(frame);
  if (!ws && !retryTimer) connect();
}

function onInput() {
  const len = ui.input.value.length;
  ui.counter.hidden = len < COUNTER_FROM;
  ui.counter.textContent = len < COUNTER_FROM ? '' : t('chars_left', { n: Math.max(0, MAX_LEN - len) });
  ui.input.style.height = 'auto';
  ui.input.style.height = ui.input.scrollHeight + 4 + 'px';
  if (!ui.input.value.trim()) return stopTyping();
  if (connected && (!typingOn || Date.now() - typingSentAt > TYPING_REPEAT)) {
    typingOn = sendFrame({ type: 'typing', on: true });
    typingSentAt = Date.now();
  }
  clearTimeout(typingIdle);
  typingIdle = setTimeout(stopTyping, TYPING_IDLE);
}

function stopTyping() {
  clearTimeout(typingIdle);
  if (typingOn) sendFrame({ type: 'typing', on: false });
  typingOn = false;
}

function onInputKey(e) {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
    e.preventDefault();
    sendFromInput();
  }
}

// --- actions
function askCounsellor() {
  if (Date.now() - askedAt < 3000) return; // a double press sends once
  askedAt = Date.now();
  sendControl({ type: 'ask_counsellor' });
  ui.input.focus();
}

function leaveChat() {
  sendControl({ type: 'leave' });
  sessionState = 'closed'; // the server confirms with a state frame
  queueInfo = null;
  stopTyping();
  refresh();
  ui.newBtn.focus();
}

function showConfirm(kind) {
  confirming = kind;
  ui.confirmQ.textContent = t(kind + '_question', { lang: switchTo && STRINGS[switchTo]._name });
  ui.confirmYes.textContent = t(kind + '_yes');
  ui.confirm.hidden = false;
  refresh();
  ui.confirmNo.focus();
}

function hideConfirm(restoreFocus) {
  const kind = confirming;
  confirming = null;
  ui.confirm.hidden = true;
  refresh();
  const back = kind === 'end' ? ui.endBtn : kind === 'switch' ? ui.lang.firstChild || ui.input : ui.delBtn;
  if (restoreFocus && kind) (back.hidden ? ui.input : back).focus();
}

function confirmYes() {
  const kind = confirming;
  hideConfirm(false);
  if (kind === 'end') leaveChat();
  if (kind === 'delete') { sendControl({ type: 'erase' }); ui.input.focus(); }
  if (kind === 'switch') switchLocale(switchTo);
}

// --- language
// The server keeps a session in the language of its hello, so a switch starts a
// new session in the chosen one. With the bot only (never while queued or with a
// counsellor), the old one is deleted first: nothing of it is kept or left behind.
function askSwitch(code) {
  switchTo = code;
  const said = !!ui.log.querySelector('.msg.you');
  if (said && sessionState === 'bot') return showConfirm('switch');
  switchLocale(code);
}

function switchLocale(code) {
  if (!known(code)) return;
  store.set('locale', code);
  const over = sessionState === 'closed' || sessionState === 'abandoned' || erased;
  if (token && !over) {
    switching = code;
    refresh();
    return sendControl({ type: 'erase' }); // then onErased starts again
  }
  restartIn(code);
}

function restartIn(code) {
  switching = switchTo = null;
  LOCALE = code;
  TITLE = attr('title') || t('title');
  const open = isOpen;
  dropSocket();
  clearRetry();
  stopped = blocked = erased = unkept = false;
  forgetAll();
  store.del('helplines');
  helplines = null;
  if (host) host.remove();
  build();
  retries = 0;
  if (open) openPanel(true); // connects: the bot greets in the new language
}

function newChat() {
  dropSocket();
  stopped = blocked = erased = unkept = false;
  forgetAll();
  refresh();
  retries = 0;
  connect();
  ui.input.focus();
}

// Forget the session: its token no longer resumes anything.
function resetSession() {
  token = null;
  store.del('token');
  sessionState = counsellorName = queueInfo = null;
  hadCounsellor = false;
  rated = '';
  for (const k of ['had_counsellor', 'rated', 'queue_more']) store.del(k);
  clearTranscript();
  setTyping(null);
}

function forgetAll() {
  outbox = [];
  pendingEls.clear();
  saveOutbox();
  controls.length = 0;
  resetSession();
}

function onErased() {
  if (switching) return restartIn(switching);
  stopped = erased = true;
  forgetAll();
  store.del('last_seq');
  ui.log.appendChild(h('p', { class: 'msg local', text: t('erased') }));
  showNotice('');
  refresh();
  if (isOpen) ui.newBtn.focus();
}

function onQueue(f) {
  queueInfo = f;
  ui.qPos.textContent = f.position > 0 ? t('queue_pos', { n: f.position }) : '';
  ui.qWait.textContent = waitText(f);
  const duty = f.counsellors_on_duty, free = f.counsellors_available;
  ui.qAvail.textContent = typeof duty === 'number' && typeof free === 'number' ? t('on_duty', { n: duty, m: free })
    : typeof free === 'number' ? t('available', { n: free }) : '';
  if (!Array.isArray(helplines)) showHelp(ui.qHelp); // an older server: its lines
  // With nobody to come, the other ways to get help open by themselves where there
  // is room, unless the person closed them.
  const choice = store.get('queue_more');
  const nobody = f.wait_outlook === 'nobody_on_duty' || f.wait_outlook === 'closed';
  setQueueMore(choice ? choice === '1' : nobody && window.innerHeight >= 560, false); // not on a small screen
  refresh();
}

// Honest words for the wait: a range or nothing, never false precision.
function waitText(f) {
  const o = f.wait_outlook;
  if (o === 'shortly') return t('wait_shortly');
  if (o === 'nobody_on_duty') return t('wait_nobody');
  if (o === 'closed') return t('wait_closed');
  if (o === 'busy') {
    const r = f.wait_range_s;
    if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => typeof x === 'number' && x >= 0)) return t('wait_busy');
    const hi = Math.max(1, Math.round(r[1] / 60));
    if (r[0] < 60) return t('wait_busy_upto', { hi }); // a low end of 0: "up to"
    const lo = Math.min(hi, Math.round(r[0] / 60));
    return lo < hi ? t('wait_busy_range', { lo, hi }) : lo === 1 ? t('wait_busy_one') : t('wait_busy_about', { n: lo });
  }
  // An older server: one estimate.
  const s = f.estimated_wait_s;
  const min = Math.round(s / 60);
  return typeof s !== 'number' || s < 0 ? t('wait_unknown')
    : s < 60 ? t('wait_soon') : min === 1 ? t('wait_one') : t('wait', { n: min });
}

function onState(f) {
  if (typeof f.state === 'string') sessionState = f.state;
  if (sessionState === 'live') sawCounsellor();
  if (f.kept === false) { // nothing of it was kept: the token resumes nothing
    unkept = true;
    token = null;
    store.del('token');
  }
  if (f.counsellor) counsellorName = f.counsellor;
  else if (sessionState !== 'live') counsellorName = null;
  if (sessionState !== 'queued') queueInfo = null;
  refresh();
}

function sawCounsellor() {
  hadCounsellor = true;
  store.set('had_counsellor', '1');
}

function onError(f) {
  if (f.code === 'unknown_token') return startOver();
  // Answering a say: keep the text, mark it "not sent" with Retry. Without a
  // client_id, a too large or rate-limited frame is most likely our last say.
  const id = f.client_id || (/^(too_large|rate_limited|bad_frame)$/.test(f.code) && (lastSent() || {}).id);
  if (pendingEls.has(id)) markFailed(id);
  if (f.code === 'closed') { sessionState = 'closed'; refresh(); }
  // A refused connection (too many new chats or resumes just now): wait as long as asked.
  if (f.code === 'rate_limited' && !connected && f.retry_after_s > 0) retryAfter = Math.min(f.retry_after_s, 3600) * 1000;
  showNotice(String(f.message || '') || t('err_generic'));
}

// Unknown or expired token: start a new session (with backoff if we sent no
// token, so a confused server is not hammered).
function startOver() {
  const hadToken = !!token;
  dropSocket();
  resetSession();
  refresh();
  if (hadToken) connect();
  else scheduleReconnect();
}

// --- connection
function connect() {
  if (exiting || ws) return;
  clearRetry();
  let sock;
  try { sock = new WebSocket(GATEWAY); } catch (e) { blocked = true; return setConn('blocked'); }
  ws = sock;
  connected = false;
  welcomeAt = 0;
  setConn(retries ? 'lost' : 'connecting');
  connectTimer = setTimeout(() => { dropSocket(); scheduleReconnect(); }, CONNECT_TIMEOUT);
  sock.onopen = () => sendFrame({ type: 'hello', v: PROTOCOL, token: token || null, last_seq: lastSeq, locale: LOCALE });
  sock.onmessage = (ev) => onFrame(ev.data);
  sock.onclose = (ev) => onClose(ev.code);
}

// Let go at once: a dead link may never finish a closing handshake.
function dropSocket() {
  const sock = ws;
  ws = null;
  connected = typingOn = false;
  clearTimeout(connectTimer);
  clearTimeout(ackTimer);
  ackTimer = null;
  for (const i of outbox) i.sentAt = 0;
  if (!sock) return;
  sock.onopen = sock.onmessage = sock.onclose = null;
  try { sock.close(1000); } catch (e) { /* closing already */ }
}

function onClose(code) {
  const lived = welcomeAt && Date.now() - welcomeAt > STABLE_MS;
  const tooBig = code === 1009 && lastSent(); // do not resend it forever
  dropSocket();
  setTyping(null);
  if (exiting) return;
  if (code === 4404) return startOver();
  if (code === 4400 || code === 1008 || code === 4429) { blocked = true; setConn('blocked'); return refresh(); }
  if (tooBig) { markFailed(tooBig.id); showNotice(t('not_sent')); }
  if (stopped || erased || sessionState === 'closed' || sessionState === 'abandoned') { setConn(''); return refresh(); }
  if (lived) retries = 0;
  scheduleReconnect();
}

function scheduleReconnect() {
  clearRetry();
  const jitter = Math.random() * Math.min(BACKOFF_MAX, BACKOFF_BASE * Math.pow(2, retries++)); // full jitter
  const delay = Math.max(jitter, retryAfter); // never sooner than the server asked
  retryAfter = 0;
  retryAt = Date.now() + delay;
  retryTimer = setTimeout(() => { retryTimer = null; connect(); }, delay);
  countdown();
}

function countdown() {
  clearTimeout(countdownTimer);
  if (!retryTimer) return;
  const left = Math.ceil((retryAt - Date.now()) / 1000);
  setConn(navigator.onLine === false ? 'offline' : left >= 1 ? 'wait' : 'lost', left);
  countdownTimer = setTimeout(countdown, 250);
}

function clearRetry() {
  clearTimeout(retryTimer);
  clearTimeout(countdownTimer);
  retryTimer = null;
}

function reconnectNow() {
  blocked = false;
  retries = 0;
  clearRetry();
  connect();
}

function onFrame(raw) {
  let f;
  try { f = JSON.parse(raw); } catch (e) { return; }
  if (!f || typeof f.type !== 'string') return;
  if (f.type === 'welcome') onWelcome(f);
  else if (f.type === 'message') onMessage(f);
  else if (f.type === 'ack') { if (typeof f.client_id === 'string' && typeof f.seq === 'number') confirmSent(f.client_id, f.seq); refresh(); }
  else if (f.type === 'typing') { if (f.on) setTyping(f.from === 'bot' ? 'bot' : 'counsellor'); else if (typingFrom === f.from) setTyping(null); }
  else if (f.type === 'state') onState(f);
  else if (f.type === 'queue') onQueue(f);
  else if (f.type === 'erased') onErased();
  else if (f.type === 'rated') refresh();
  else if (f.type === 'error') onError(f);
  else if (f.type === 'challenge') onChallenge(f);
}

// Proof of work before a new session while the service is very busy (docs/protocol.md,
// "challenge"): a nonce whose SHA-256 with the salt begins with `difficulty` zero
// bits, hashed by crypto.subtle in batches so the page stays responsive, then hello
// again with it. Without crypto.subtle the server says plainly that it is needed.
async function onChallenge(f) {
  const sock = ws;
  const bits = f.difficulty;
  if (f.algorithm !== 'sha256' || typeof f.salt !== 'string' || !(bits >= 1 && bits <= 32)) return;
  if (!window.crypto || !crypto.subtle) return;
  clearTimeout(connectTimer); // the work may take longer than a connection attempt
  const nonce = await solveChallenge(f.salt, bits);
  if (ws !== sock) return; // gone meanwhile: the next connection gets its own
  connectTimer = setTimeout(() => { dropSocket(); scheduleReconnect(); }, CONNECT_TIMEOUT);
  sendFrame({ type: 'hello', v: PROTOCOL, token: null, last_seq: 0, locale: LOCALE, proof: { salt: f.salt, nonce: String(nonce) } });
}

async function solveChallenge(salt, bits) {
  const encoder = new TextEncoder();
  for (let base = 0; ; base += 256) {
    const batch = [];
    for (let n = base; n < base + 256; n++) batch.push(crypto.subtle.digest('SHA-256', encoder.encode(salt + ':' + n)));
    const digests = await Promise.all(batch);
    for (let i = 0; i < digests.length; i++) if (zeroBits(new Uint8Array(digests[i])) >= bits) return base + i;
  }
}

function zeroBits(bytes) {
  let bits = 0;
  for (const b of bytes) {
    if (b) return bits + Math.clz32(b) - 24;
    bits += 8;
  }
  return bits;
}

// The charity's logo (alt: its name), else its name, above the title.
function showService() {
  const name = typeof service.name === 'string' ? service.name.trim() : '';
  const logo = logoUrl();
  const named = () => ui.org.replaceChildren(name);
  if (logo) ui.org.replaceChildren(h('img', { src: logo, alt: name, onerror: named }));
  else named();
  ui.org.hidden = !logo && (!name || name === TITLE);
  paint(ui.root);
}

function onWelcome(f) {
  if (f.service && typeof f.service === 'object') { service = f.service; showService(); }
  clearTimeout(connectTimer);
  connected = true;
  blocked = false;
  welcomeAt = Date.now();
  if (Array.isArray(f.locales)) {
    locales = f.locales.filter(known);
    store.set('locales', JSON.stringify(locales));
    showLocales();
  }
  if (Array.isArray(f.helplines)) {
    helplines = f.helplines;
    store.set('helplines', JSON.stringify(helplines));
    showHelplines();
  }
  if (typeof f.token === 'string' && f.token) {
    if (token !== f.token && seen.size) clearTranscript(); // a new session starts empty
    token = f.token;
    store.set('token', token);
  }
  // Our view is ahead of the server's: it sends the whole transcript again.
  if (typeof f.last_seq === 'number' && f.last_seq < lastSeq) clearTranscript();
  setConn('');
  onState({ state: f.state, counsellor: counsellorName });
  for (const c of controls.splice(0)) sendControl(c);
  for (const item of outbox) transmit(item); // same client_id: stored once
}

// --- panel
function openPanel(moveFocus) {
  if (exiting) return;
  ui.panel.hidden = false;
  ui.launcher.hidden = isOpen = true;
  store.set('open', '1');
  if (!ws && !retryTimer && !blocked && !stopped) connect(); // a session starts on first open
  if (moveFocus) (ui.input.disabled ? ui.newBtn : ui.input).focus();
  scrollDown();
}

function closePanel(moveFocus) {
  if (confirming) hideConfirm(false);
  ui.panel.hidden = true;
  ui.launcher.hidden = isOpen = false;
  store.del('open');
  if (moveFocus) ui.launcher.focus();
}

// --- quick exit
function quickExit() {
  if (exiting) return;
  exiting = true;
  try { if (ws && ws.readyState === 1) ws.send('{"type":"leave"}'); } catch (e) { /* best effort */ }
  clearRetry();
  dropSocket();
  store.clearAll();
  token = null;
  if (shadow) shadow.textContent = '';
  if (host) host.remove();
  try { document.title = ''; document.body.textContent = ''; } catch (e) { /* keep going */ }
  location.replace(EXIT_URL);
}

function onKeyDown(e) {
  if ((e.key !== 'Escape' && e.key !== 'Esc') || e.repeat) return;
  const now = Date.now();
  escapes = escapes.filter((x) => now - x < EXIT_WINDOW).concat(now);
  if (escapes.length >= 3) { e.preventDefault(); return quickExit(); }
  if (isOpen) closePanel(focusInside() || document.activeElement === document.body);
}

// --- start
function start() {
  if (!document.body) return document.addEventListener('DOMContentLoaded', start, { once: true });
  build();
  window.addEventListener('keydown', onKeyDown, true);
  window.addEventListener('online', () => { if (retryTimer) reconnectNow(); });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && retryTimer) reconnectNow();
  });
  if (token || outbox.length) connect(); // a conversation is under way in this tab
  if (store.get('open') === '1') openPanel(false);
}

window.HavenWidget = Object.freeze({
  open() { if (ui.panel) openPanel(true); },
  close() { if (ui.panel) closePanel(true); },
  state() {
    return { connected, sessionState, lastSeq, outbox: outbox.filter((i) => !i.failed).length };
  },
});

start();
})();
