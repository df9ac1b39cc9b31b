// The sandbox page: a small Slack client for one workspace, acting as one person at a time.
//
// It polls the Slack stand-in's world (GET /_sandbox/state?since=&user=, every 500 ms) and
// renders the channels, DMs, messages (Block Kit, files, edits, ephemeral ones, threads) and
// the person's open modal. What the person does goes to the page's server as JSON
// (/api/slash, /api/message, /api/action, /api/submit, /api/close, /api/shortcut), which
// sends Slack's signed request to the bot; the bot's answer shows up in the next poll.

import { el, renderAttachments, renderBlocks, renderFiles, textObject } from "./blocks.js";
import { mrkdwn } from "./mrkdwn.js";
import { Modal } from "./modal.js";

const POLL_MS = 500;
const HEADERS = { "Content-Type": "application/json", "X-Sandbox-Page": "1" };

const state = {
  config: null,
  me: null,
  since: 0,
  generation: 0,
  users: new Map(),
  channels: new Map(),
  groups: new Map(),
  messages: new Map(), // "channel/ts" -> message
  current: null, // channel id
  thread: null, // {channel, ts}
  lastRead: new Map(), // "user/channel" -> ts
  online: true,
};

const $ = (id) => document.getElementById(id);
let modal;
let lastFocus = null;

// --- talking to the page's server ---------------------------------------------------------------

async function post(path, body) {
  try {
    const response = await fetch(path, { method: "POST", headers: HEADERS, body: JSON.stringify(body) });
    return await response.json();
  } catch (error) {
    return { ok: false, error: error.message };
  }
}

async function upload(blob, name) {
  const query = `name=${encodeURIComponent(name)}&user=${encodeURIComponent(state.me)}`;
  const response = await fetch(`/_sandbox/files?${query}`, { method: "POST", headers: { "X-Sandbox-Page": "1" }, body: blob });
  const answer = await response.json();
  if (!answer.ok) throw new Error(answer.error);
  return answer.file;
}

let chain = Promise.resolve();
let queued = 0;

/** Poll now (after any poll already running); resolves once the world is on screen. */
function refresh() {
  queued += 1;
  chain = chain.then(() => {
    queued -= 1;
    return poll();
  });
  return chain;
}

async function poll() {
  const generation = state.generation;
  try {
    const response = await fetch(`/_sandbox/state?since=${state.since}&user=${encodeURIComponent(state.me)}`);
    const world = await response.json();
    if (generation !== state.generation) return;
    setOnline(true);
    apply(world);
  } catch {
    setOnline(false);
  }
}

function setOnline(online) {
  if (state.online === online) return;
  state.online = online;
  $("offline").hidden = online;
}

// --- the world ----------------------------------------------------------------------------------

function apply(world) {
  const first = state.since === 0;
  state.since = world.seq;
  state.users = new Map(world.users.map((u) => [u.id, u]));
  state.channels = new Map(world.channels.map((c) => [c.id, c]));
  state.groups = new Map(world.usergroups.map((g) => [g.id, g]));
  const touched = new Set();
  for (const m of world.messages) {
    const key = `${m.channel}/${m.ts}`;
    if (m.deleted) state.messages.delete(key);
    else state.messages.set(key, m);
    touched.add(m.channel);
  }
  if (!state.current || !state.channels.has(state.current)) state.current = defaultChannel();
  renderSidebar();
  if (first || touched.has(state.current)) renderConversation();
  if (state.thread && (first || touched.has(state.thread.channel))) renderThread();
  modal.sync(world.views?.[state.me]);
}

function defaultChannel() {
  const channels = visibleChannels();
  return (channels.find((c) => c.name === "billing-support") ?? channels[0])?.id ?? null;
}

function visibleChannels() {
  return [...state.channels.values()].filter((c) => !c.is_im && !c.is_archived).sort((a, b) => a.name.localeCompare(b.name));
}

function myDm() {
  return [...state.channels.values()].find((c) => c.is_im && c.user === state.me) ?? null;
}

function userName(id) {
  const user = state.users.get(id);
  return user ? user.real_name || user.name : null;
}

function channelLabel(channel) {
  if (!channel) return "";
  return channel.is_im ? state.config.bot.name : `#${channel.name}`;
}

function isTopLevel(m) {
  return !m.thread_ts || m.thread_ts === m.ts || m.subtype === "thread_broadcast";
}

function messagesIn(channel, filter) {
  return [...state.messages.values()].filter((m) => m.channel === channel && filter(m)).sort((a, b) => Number(a.ts) - Number(b.ts));
}

function textContext() {
  return {
    me: state.me,
    userName,
    channelName: (id) => {
      const channel = state.channels.get(id);
      return channel ? (channel.is_im ? state.config.bot.name : channel.name) : null;
    },
    groupHandle: (id) => state.groups.get(id)?.handle ?? null,
    onChannel: (id) => state.channels.has(id) && selectChannel(id),
    permalink,
    onPermalink: showMessage,
  };
}

/** A message link of this workspace (chat.getPermalink's shape) -> {channel, ts, thread}. */
function permalink(url) {
  const base = state.config.slack_base_url;
  if (!url.startsWith(`${base}/archives/`)) return null;
  const found = /^\/archives\/([A-Z0-9]+)\/p(\d+)(\d{6})(?:\?thread_ts=([\d.]+))?/.exec(url.slice(base.length));
  return found ? { channel: found[1], ts: `${found[2]}.${found[3]}`, thread: found[4] ?? null } : null;
}

function showMessage(place) {
  if (!state.channels.has(place.channel)) return;
  selectChannel(place.channel);
  if (place.thread) openThread(place.channel, place.thread);
  const node = document.querySelector(`[data-key="${CSS.escape(`${place.channel}/${place.ts}`)}"]`);
  if (!node) return;
  node.tabIndex = -1;
  node.scrollIntoView({ block: "center" });
  node.classList.add("highlight");
  node.focus();
  setTimeout(() => node.classList.remove("highlight"), 2500);
}

// --- sidebar ------------------------------------------------------------------------------------

let sidebarShown = "";

/** Redrawn only when something in it changed, so keyboard focus in the list survives polls. */
function renderSidebar() {
  const dm = myDm();
  const entries = [...visibleChannels(), ...(dm ? [dm] : [])];
  const shown = JSON.stringify([state.current, entries.map((c) => [c.id, channelLabel(c), unreadCount(c.id)])]);
  if (shown === sidebarShown) return;
  sidebarShown = shown;
  const focused = document.activeElement?.dataset?.channel;
  $("channel-list").replaceChildren(...visibleChannels().map(channelItem));
  $("dm-list").replaceChildren(...(dm ? [channelItem(dm)] : []));
  if (focused) document.querySelector(`.channel-button[data-channel="${CSS.escape(focused)}"]`)?.focus();
}

function channelItem(channel) {
  const unread = unreadCount(channel.id);
  const label = el("span", "channel-name", channelLabel(channel));
  const button = el("button", "channel-button", label);
  button.type = "button";
  button.dataset.channel = channel.id;
  if (channel.id === state.current) button.setAttribute("aria-current", "page");
  if (unread) {
    button.classList.add("unread");
    const badge = el("span", "badge", String(unread));
    badge.setAttribute("aria-label", `${unread} new`);
    button.append(badge);
  }
  button.addEventListener("click", () => selectChannel(channel.id));
  return el("li", null, button);
}

function unreadCount(channel) {
  if (channel === state.current) return 0;
  const seen = state.lastRead.get(`${state.me}/${channel}`) ?? "0";
  return messagesIn(channel, (m) => isTopLevel(m) && m.user !== state.me && Number(m.ts) > Number(seen)).length;
}

function markRead(channel, messages) {
  const latest = messages.at(-1)?.ts;
  if (latest) state.lastRead.set(`${state.me}/${channel}`, latest);
}

function selectChannel(id) {
  if (state.current === id) return;
  state.current = id;
  closeThread();
  $("messages").replaceChildren();
  renderSidebar();
  renderConversation();
  $("composer-input").focus();
}

// --- the conversation ---------------------------------------------------------------------------

function renderConversation() {
  const channel = state.channels.get(state.current);
  if (!channel) return;
  const label = channelLabel(channel);
  $("conversation-title").textContent = label;
  $("conversation-purpose").textContent = channel.is_im
    ? `Your direct messages with ${state.config.bot.name}. Send it a CSV to start an import.`
    : channel.purpose?.value ?? "";
  $("composer-label").textContent = `Message ${label}`;
  $("composer-input").placeholder = `Message ${label}: try /billing help`;
  const messages = messagesIn(channel.id, isTopLevel);
  renderList($("messages"), messages, false);
  $("empty").hidden = messages.length > 0;
  markRead(channel.id, messages);
}

function renderList(container, messages, inThread) {
  const nearBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 60;
  const existing = new Map([...container.children].map((node) => [node.dataset.key, node]));
  const keep = new Set();
  let previous = null;
  for (const m of messages) {
    const key = `${m.channel}/${m.ts}`;
    const version = JSON.stringify(m) + (inThread ? "/t" : "");
    let node = existing.get(key);
    if (!node || node.version !== version) {
      const fresh = messageElement(m, inThread);
      fresh.dataset.key = key;
      fresh.version = version;
      if (node) {
        const focus = focusedAction(node);
        node.replaceWith(fresh);
        if (focus) fresh.querySelector(`[data-action-id="${CSS.escape(focus)}"]`)?.focus();
      }
      node = fresh;
    }
    keep.add(key);
    const expected = previous ? previous.nextSibling : container.firstChild;
    if (expected !== node) container.insertBefore(node, expected);
    previous = node;
  }
  for (const [key, node] of existing) if (!keep.has(key)) node.remove();
  if (nearBottom) container.scrollTop = container.scrollHeight;
}

function focusedAction(node) {
  const active = document.activeElement;
  return active && node.contains(active) ? active.dataset.actionId ?? null : null;
}

function messageElement(m, inThread) {
  const bot = Boolean(m.bot_id);
  const author = bot ? m.bot_profile?.name ?? state.config.bot.name : userName(m.user) ?? m.user;
  const when = new Date(Number(m.ts) * 1000);
  const time = el("time", "time", when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
  time.dateTime = when.toISOString();
  const header = el("div", "message-header", el("strong", "author", author), bot ? el("span", "tag", "APP") : null, time);
  if (m.edited) header.append(el("span", "edited", "(edited)"));
  const article = el("article", `message${m.is_ephemeral ? " ephemeral" : ""}${bot ? " from-app" : ""}`);
  article.setAttribute("aria-label", `${author} at ${time.textContent}${m.is_ephemeral ? ", only visible to you" : ""}`);
  const avatar = el("div", `avatar${bot ? " bot" : ""}`, initials(author));
  avatar.setAttribute("aria-hidden", "true");
  const body = el("div", "message-body", header);
  if (m.is_ephemeral) body.append(el("div", "ephemeral-note", "👁 Only visible to you"));
  const ctx = { ...textContext(), onAction: (action) => act({ ...action, channel: m.channel, ts: m.ts }), confirm };
  if (m.subtype === "tombstone") body.append(el("div", "tombstone", m.text));
  else if (m.blocks?.length) body.append(renderBlocks(m.blocks, ctx));
  else if (m.text) body.append(el("div", "message-text", mrkdwn(m.text, ctx)));
  if (m.files?.length) body.append(renderFiles(m.files));
  if (m.attachments?.length) body.append(renderAttachments(m.attachments, ctx));
  if (m.reactions?.length) {
    body.append(el("div", "reactions", ...m.reactions.map((r) => el("span", "reaction", `${mrkdwn(`:${r.name}:`).textContent} ${r.count}`))));
  }
  if (!inThread && m.reply_count) {
    const replies = el("button", "replies", `${m.reply_count} ${m.reply_count === 1 ? "reply" : "replies"}`);
    replies.type = "button";
    replies.dataset.actionId = "open-thread";
    replies.setAttribute("aria-label", `${replies.textContent}: open the thread`);
    replies.addEventListener("click", () => openThread(m.channel, m.ts));
    body.append(replies);
  }
  article.append(avatar, body);
  const shortcuts = state.config.shortcuts.filter((s) => s.type === "message");
  if (shortcuts.length && !m.is_ephemeral) article.append(messageMenu(m, shortcuts));
  return article;
}

function initials(name) {
  return String(name).split(/[\s-]+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("");
}

function messageMenu(m, shortcuts) {
  const button = el("button", "message-menu", "⋮");
  button.type = "button";
  button.dataset.actionId = "message-menu";
  button.setAttribute("aria-label", "More actions for this message");
  button.setAttribute("aria-haspopup", "menu");
  button.addEventListener("click", () =>
    openMenu(button, shortcuts.map((s) => [s.name, () => shortcut(s, { channel: m.channel, ts: m.ts })])),
  );
  return button;
}

// --- threads ------------------------------------------------------------------------------------

function openThread(channel, ts) {
  state.thread = { channel, ts };
  $("thread").hidden = false;
  $("thread-messages").replaceChildren();
  renderThread();
  $("thread-input").focus();
}

function closeThread() {
  state.thread = null;
  $("thread").hidden = true;
}

function renderThread() {
  const { channel, ts } = state.thread;
  const messages = messagesIn(channel, (m) => m.ts === ts || m.thread_ts === ts);
  $("thread-title").textContent = `Thread in ${channelLabel(state.channels.get(channel))}`;
  renderList($("thread-messages"), messages, true);
}

// --- what the person does -----------------------------------------------------------------------

async function act(action) {
  const answer = await post("/api/action", { user: state.me, ...action });
  if (!answer.ok) toast(`That did not reach the app: ${answer.error}`);
  await refresh();
}

async function shortcut(spec, where = {}) {
  const answer = await post("/api/shortcut", { user: state.me, callback_id: spec.callback_id, ...where });
  if (!answer.ok) toast(`The shortcut did not reach the app: ${answer.error}`);
  await refresh();
}

async function send(text, { thread_ts = null, files = [] } = {}) {
  const channel = state.thread && thread_ts ? state.thread.channel : state.current;
  if (text.startsWith("/")) {
    const [, command, rest] = /^(\S+)\s*([\s\S]*)$/.exec(text);
    if (!state.config.slash_commands.some((c) => c.command === command)) {
      toast(`${command} is not a valid command. In this workspace: ${state.config.slash_commands.map((c) => c.command).join(", ")}`);
      return false;
    }
    const answer = await post("/api/slash", { user: state.me, channel, command, text: rest });
    if (!answer.ok) toast(`${command} failed: ${answer.error}`);
    await refresh();
    return answer.ok;
  }
  const answer = await post("/api/message", { user: state.me, channel, text, thread_ts, files: files.map((f) => f.id) });
  if (!answer.ok) toast(`The message was not sent: ${answer.error}`);
  await refresh();
  return answer.ok;
}

function setUpComposer(form, input, options) {
  const attached = [];
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text && !attached.length) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      if (await send(text, { ...options(), files: [...attached] })) {
        input.value = "";
        attached.length = 0;
        options.onSent?.();
      }
    } finally {
      button.disabled = false;
      input.dispatchEvent(new Event("input"));
    }
  });
  return attached;
}

function setUpMainComposer() {
  const input = $("composer-input");
  const hint = $("command-hint");
  const chips = $("attachments");
  const options = () => ({});
  options.onSent = () => chips.replaceChildren();
  const attached = setUpComposer($("composer"), input, options);
  input.addEventListener("input", () => {
    const typed = input.value.trim();
    const matches = typed.startsWith("/") ? state.config.slash_commands.filter((c) => c.command.startsWith(typed.split(/\s/)[0])) : [];
    hint.hidden = !matches.length;
    hint.replaceChildren(...matches.map((c) => el("p", null, el("strong", null, c.command), " ", c.usage_hint, el("br"), el("span", "muted", c.description))));
  });
  $("attach-input").addEventListener("change", async (event) => {
    for (const file of event.target.files) {
      const uploaded = await upload(file, file.name);
      attached.push(uploaded);
      chips.append(el("span", "chip", `📎 ${uploaded.name}`));
    }
    event.target.value = "";
  });
  $("shortcuts-button").addEventListener("click", () => {
    const globals = state.config.shortcuts.filter((s) => s.type === "global");
    openMenu($("shortcuts-button"), globals.map((s) => [s.name, () => shortcut(s)]));
  });
  setUpComposer($("thread-composer"), $("thread-input"), () => ({ thread_ts: state.thread?.ts }));
  $("thread-close").addEventListener("click", closeThread);
}

// --- people -------------------------------------------------------------------------------------

function renderPeople() {
  const group = $("people");
  for (const person of state.config.people) {
    const radio = el("input");
    radio.type = "radio";
    radio.name = "person";
    radio.value = person.id;
    radio.id = `person-${person.id}`;
    radio.checked = person.id === state.me;
    radio.addEventListener("change", () => radio.checked && switchTo(person.id));
    const label = el("label", "person", radio, el("span", null, person.real_name));
    label.htmlFor = radio.id;
    group.append(label);
  }
  showMay();
}

function showMay() {
  const person = state.config.people.find((p) => p.id === state.me);
  $("person-may").textContent = `${person.real_name} ${person.may}.`;
}

function switchTo(userId) {
  const wasDm = state.channels.get(state.current)?.is_im;
  state.me = userId;
  state.generation += 1;
  state.since = 0;
  state.messages.clear();
  closeThread();
  modal.hide();
  $("messages").replaceChildren();
  if (wasDm) state.current = myDm()?.id ?? null;
  showMay();
  refresh();
}

// --- small UI pieces ----------------------------------------------------------------------------

function openMenu(anchor, items) {
  closeMenu();
  const menu = el("div", "menu");
  menu.id = "menu";
  menu.setAttribute("role", "menu");
  if (!items.length) menu.append(el("p", "muted", "No shortcuts."));
  for (const [label, run] of items) {
    const item = el("button", "menu-item", label);
    item.type = "button";
    item.setAttribute("role", "menuitem");
    item.addEventListener("click", () => {
      closeMenu();
      run();
    });
    menu.append(item);
  }
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      closeMenu();
      anchor.focus();
    }
  });
  anchor.setAttribute("aria-expanded", "true");
  anchor.after(menu);
  menu.querySelector("button")?.focus();
  setTimeout(() => document.addEventListener("click", closeMenu, { once: true }), 0);
}

function closeMenu() {
  const menu = $("menu");
  menu?.previousElementSibling?.setAttribute("aria-expanded", "false");
  menu?.remove();
}

/** Slack's confirmation dialog for a button with `confirm`; resolves true to go ahead. */
function confirm(spec) {
  const dialog = $("confirm");
  const title = el("h2", null, spec.title?.text ?? "Are you sure?");
  title.id = "confirm-title";
  const deny = el("button", "btn", spec.deny?.text ?? "Cancel");
  const ok = el("button", `btn ${spec.style === "danger" ? "danger" : "primary"}`, spec.confirm?.text ?? "Yes");
  deny.type = ok.type = "button";
  dialog.replaceChildren(title, el("div", "confirm-text", textObject(spec.text, textContext())), el("footer", "modal-footer", deny, ok));
  dialog.setAttribute("aria-labelledby", "confirm-title");
  return new Promise((resolve) => {
    const done = (answer) => {
      dialog.close();
      resolve(answer);
    };
    deny.addEventListener("click", () => done(false));
    ok.addEventListener("click", () => done(true));
    dialog.addEventListener("cancel", () => resolve(false), { once: true });
    dialog.showModal();
    ok.focus();
  });
}

/** Something did not reach the app: said where it will be seen, and by screen readers. */
function toast(text) {
  const note = el("div", "toast", el("span", null, text));
  const close = el("button", "toast-close", "×");
  close.type = "button";
  close.setAttribute("aria-label", "Dismiss");
  close.addEventListener("click", () => note.remove());
  note.append(close);
  $("alerts").append(note);
  setTimeout(() => note.remove(), 10000);
}

function renderGuide() {
  const samples = $("samples");
  for (const sample of state.config.samples) {
    const link = el("a", null, sample.name);
    link.href = sample.url;
    link.download = sample.name;
    samples.append(el("li", null, link));
  }
}

// --- start --------------------------------------------------------------------------------------

async function start() {
  state.config = await (await fetch("/api/config")).json();
  state.me = state.config.people[0].id;
  $("team-name").textContent = state.config.team.name;
  modal = new Modal($("modal"), {
    me: () => state.me,
    post,
    upload,
    samples: state.config.samples,
    blockContext: (viewId) => ({ ...textContext(), onAction: (action) => act({ ...action, view_id: viewId }), confirm }),
    refresh,
    toast,
    restoreFocus: () => (lastFocus?.isConnected ? lastFocus : $("composer-input")).focus(),
  });
  document.addEventListener("focusin", (event) => {
    if (!event.target.closest("dialog")) lastFocus = event.target;
  });
  renderPeople();
  renderGuide();
  setUpMainComposer();
  await refresh();
  document.body.dataset.ready = "true";
  setInterval(() => queued === 0 && refresh(), POLL_MS);
}

start();
