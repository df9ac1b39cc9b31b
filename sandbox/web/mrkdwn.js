// Slack's "mrkdwn" text formatting, rendered as DOM nodes (never as HTML strings, so text from
// records and people can never become markup).
//
// What is rendered: *bold*, _italic_, ~strike~, `code`, ```preformatted```, "> " quotes,
// line breaks, <url|label> links (http, https and mailto only), <@U…> mentions, <#C…>
// channels, <!here>/<!channel>/<!subteam^…>, <!date^…> dates, :emoji: for the common names,
// and Slack's three escapes (&lt; &gt; &amp;), shown as the literal characters.

export const EMOJI = {
  white_check_mark: "✅", heavy_check_mark: "✔️", x: "❌", warning: "⚠️",
  information_source: "ℹ️", grey_question: "❔", question: "❓", exclamation: "❗",
  hourglass: "⌛", hourglass_flowing_sand: "⏳", no_entry: "⛔", no_entry_sign: "🚫",
  inbox_tray: "📥", outbox_tray: "📤", bar_chart: "📊", chart_with_upwards_trend: "📈",
  chart_with_downwards_trend: "📉", page_facing_up: "📄", memo: "📝", clipboard: "📋",
  credit_card: "💳", bank: "🏦", moneybag: "💰", lock: "🔒", key: "🔑", bell: "🔔",
  calendar: "📅", mag: "🔍", link: "🔗", gear: "⚙️", tada: "🎉", rocket: "🚀", eyes: "👀",
  wave: "👋", "+1": "👍", thumbsup: "👍", "-1": "👎", red_circle: "🔴",
  large_green_circle: "🟢", large_yellow_circle: "🟡", large_blue_circle: "🔵",
  white_circle: "⚪", arrows_counterclockwise: "🔄", repeat: "🔁", stopwatch: "⏱️",
  zzz: "💤", sparkles: "✨", fire: "🔥", bulb: "💡", pushpin: "📌", heavy_minus_sign: "➖",
  small_orange_diamond: "🔸", small_blue_diamond: "🔹", arrow_right: "➡️", robot_face: "🤖",
  construction: "🚧", email: "📧", envelope: "✉️", file_folder: "📁", package: "📦",
};

const ENTITIES = { "&lt;": "<", "&gt;": ">", "&amp;": "&" };

/** Slack's escapes back to the characters they stand for. */
export function unescape(text) {
  return String(text).replace(/&(lt|gt|amp);/g, (m) => ENTITIES[m]);
}

/** Plain text with :emoji: shortcodes (Block Kit plain_text with emoji: true). */
export function plain(text, withEmoji = true) {
  const fragment = document.createDocumentFragment();
  const value = withEmoji ? emojify(String(text ?? "")) : String(text ?? "");
  value.split("\n").forEach((line, i) => {
    if (i) fragment.append(document.createElement("br"));
    fragment.append(line);
  });
  return fragment;
}

function emojify(text) {
  return text.replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI[name] ?? m);
}

/**
 * Render mrkdwn `text`. `ctx` resolves references: userName(id), channelName(id),
 * groupHandle(id), onChannel(id) (a click on a #channel), me (the viewer's user id), and
 * permalink(url) -> place | null with onPermalink(place) (a link to a message of this
 * workspace opens it here instead of in a new tab).
 */
export function mrkdwn(text, ctx = {}) {
  const fragment = document.createDocumentFragment();
  const parts = String(text ?? "").split("```");
  parts.forEach((part, i) => {
    if (i % 2 === 1 && i < parts.length - 1) {
      const pre = document.createElement("pre");
      const code = document.createElement("code");
      code.textContent = unescape(part.replace(/^\n/, ""));
      pre.append(code);
      fragment.append(pre);
    } else {
      appendLines(fragment, i % 2 === 1 ? "```" + part : part, ctx);
    }
  });
  return fragment;
}

function appendLines(parent, text, ctx) {
  const lines = text.split("\n");
  let quote = null;
  lines.forEach((line, i) => {
    const quoted = /^(>|&gt;)\s?/.exec(line);
    if (quoted) {
      if (!quote) {
        quote = document.createElement("blockquote");
        parent.append(quote);
      } else {
        quote.append(document.createElement("br"));
      }
      inline(quote, line.slice(quoted[0].length), ctx);
      return;
    }
    if (quote) {
      quote = null;
    } else if (i) {
      parent.append(document.createElement("br"));
    }
    inline(parent, line, ctx);
  });
}

// The earliest of: `code`, <special>, *bold*, _italic_, ~strike~, :emoji:. Formatting marks
// must sit at word boundaries, as in Slack (snake_case_names stay as they are).
const INLINE = new RegExp(
  [
    "`([^`\\n]+)`",
    "<([^<>\\n]+)>",
    "(?<![\\p{L}\\p{N}*])\\*(?!\\s)([^*\\n]+?)(?<!\\s)\\*(?![\\p{L}\\p{N}*])",
    "(?<![\\p{L}\\p{N}_])_(?!\\s)([^_\\n]+?)(?<!\\s)_(?![\\p{L}\\p{N}_])",
    "(?<![\\p{L}\\p{N}~])~(?!\\s)([^~\\n]+?)(?<!\\s)~(?![\\p{L}\\p{N}~])",
    ":([a-z0-9_+-]+):",
  ].join("|"),
  "gu",
);

function inline(parent, text, ctx) {
  let at = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > at) parent.append(unescape(text.slice(at, match.index)));
    at = match.index + match[0].length;
    const [whole, code, special, bold, italic, strike, emoji] = match;
    if (code !== undefined) {
      const el = document.createElement("code");
      el.textContent = unescape(code);
      parent.append(el);
    } else if (special !== undefined) {
      parent.append(reference(special, ctx));
    } else if (emoji !== undefined) {
      parent.append(EMOJI[emoji] ?? whole);
    } else {
      const tag = bold !== undefined ? "strong" : italic !== undefined ? "em" : "s";
      const el = document.createElement(tag);
      inline(el, bold ?? italic ?? strike, ctx);
      parent.append(el);
    }
  }
  if (at < text.length) parent.append(unescape(text.slice(at)));
}

function reference(inner, ctx) {
  const [target, ...rest] = inner.split("|");
  const label = rest.length ? unescape(rest.join("|")) : null;
  if (target.startsWith("@")) {
    const id = target.slice(1);
    return mention("@" + (ctx.userName?.(id) ?? label ?? id), id === ctx.me);
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    const name = ctx.channelName?.(id) ?? label ?? id;
    if (!ctx.onChannel) return mention("#" + name, false);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "mention channel-link";
    button.textContent = "#" + name;
    button.addEventListener("click", () => ctx.onChannel(id));
    return button;
  }
  if (target.startsWith("!")) return special(target.slice(1), label, ctx);
  const url = unescape(target);
  if (!/^(https?:|mailto:)/i.test(url)) return document.createTextNode(label ?? url);
  const a = document.createElement("a");
  a.href = url;
  a.textContent = label ?? url.replace(/^mailto:/i, "");
  const place = ctx.permalink?.(url);
  if (place) {
    a.addEventListener("click", (event) => {
      event.preventDefault();
      ctx.onPermalink(place);
    });
  } else {
    a.target = "_blank";
    a.rel = "noopener noreferrer";
  }
  return a;
}

function special(command, label, ctx) {
  const [name, ...args] = command.split("^");
  if (["here", "channel", "everyone"].includes(name)) return mention("@" + name, true);
  if (name === "subteam") return mention(label ?? "@" + (ctx.groupHandle?.(args[0]) ?? args[0]), false);
  if (name === "date") {
    const time = document.createElement("time");
    const when = new Date(Number(args[0]) * 1000);
    time.dateTime = when.toISOString();
    time.textContent = Number.isFinite(when.getTime()) ? formatDate(when, args[1] ?? "") : label ?? "";
    return time;
  }
  return document.createTextNode(label ?? "");
}

function formatDate(when, pattern) {
  const date = (options) => when.toLocaleDateString(undefined, options);
  const tokens = {
    date_num: when.toISOString().slice(0, 10),
    date: date({ year: "numeric", month: "long", day: "numeric" }),
    date_short: date({ year: "numeric", month: "short", day: "numeric" }),
    date_long: date({ weekday: "long", year: "numeric", month: "long", day: "numeric" }),
    date_pretty: date({ year: "numeric", month: "long", day: "numeric" }),
    date_short_pretty: date({ year: "numeric", month: "short", day: "numeric" }),
    date_long_pretty: date({ weekday: "long", year: "numeric", month: "long", day: "numeric" }),
    time: when.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }),
    time_secs: when.toLocaleTimeString(),
  };
  return pattern.replace(/\{(\w+)\}/g, (m, token) => tokens[token] ?? m);
}

function mention(text, highlight) {
  const span = document.createElement("span");
  span.className = highlight ? "mention mention-me" : "mention";
  span.textContent = text;
  return span;
}
