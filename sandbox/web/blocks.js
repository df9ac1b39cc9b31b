// Block Kit for messages (and the non-input blocks of modals), rendered as Slack shows them:
// section (text, fields, accessory), header, divider, context, actions, image, file,
// rich_text and markdown; buttons (primary/danger, url, confirm dialogs), selects and overflow
// menus. Files attached to a message become download links (images also show inline); legacy
// attachments get their colour bar, text and fields.
//
// `ctx`: the text context of mrkdwn.js, plus
//   onAction({action_id, block_id, value, selected_option, selected_options}) -> Promise,
//   confirm(confirmObject) -> Promise<boolean>.
// An element whose action is in flight is disabled until the app has answered.

import { mrkdwn, plain } from "./mrkdwn.js";

export function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

/** A Block Kit text object (plain_text or mrkdwn). */
export function textObject(obj, ctx) {
  if (!obj) return document.createDocumentFragment();
  return obj.type === "mrkdwn" ? mrkdwn(obj.text, ctx) : plain(obj.text, obj.emoji !== false);
}

/** Plain words of a text object, for labels and aria attributes. */
export function words(obj) {
  return obj ? String(obj.text ?? "") : "";
}

export function renderBlocks(blocks, ctx) {
  const container = el("div", "blocks");
  for (const block of blocks ?? []) container.append(renderBlock(block, ctx));
  return container;
}

export function renderBlock(block, ctx) {
  const render = BLOCKS[block.type] ?? unsupported;
  const node = render(block, ctx);
  node.classList.add("block", `block-${block.type}`);
  if (block.block_id) node.dataset.blockId = block.block_id;
  return node;
}

const BLOCKS = {
  section(block, ctx) {
    const node = el("div", "section");
    const body = el("div", "section-body");
    if (block.text) body.append(el("div", "section-text", textObject(block.text, ctx)));
    if (block.fields?.length) {
      body.append(el("div", "fields", ...block.fields.map((f) => el("div", "field", textObject(f, ctx)))));
    }
    node.append(body);
    if (block.accessory) node.append(el("div", "accessory", element(block.accessory, block, ctx)));
    return node;
  },
  header(block) {
    const node = el("p", "header", plain(block.text?.text ?? "", block.text?.emoji !== false));
    node.setAttribute("role", "heading");
    node.setAttribute("aria-level", "3");
    return node;
  },
  divider() {
    return el("hr");
  },
  context(block, ctx) {
    return el("div", "context", ...(block.elements ?? []).map((item) =>
      item.type === "image" ? image(item.image_url, item.alt_text, "context-image") : el("span", "context-item", textObject(item, ctx)),
    ));
  },
  actions(block, ctx) {
    const node = el("div", "actions", ...(block.elements ?? []).map((item) => element(item, block, ctx)));
    node.setAttribute("role", "group");
    node.setAttribute("aria-label", "Actions");
    return node;
  },
  image(block, ctx) {
    const src = block.image_url ?? fileSource(block.slack_file);
    const figure = el("figure", "image-block", image(src, block.alt_text, "block-image"));
    if (block.title) figure.append(el("figcaption", null, textObject(block.title, ctx)));
    return figure;
  },
  file(block) {
    return el("div", "file-block", `📎 Remote file ${block.external_id ?? ""}`.trim());
  },
  markdown(block, ctx) {
    return el("div", "markdown", mrkdwn(String(block.text ?? "").replace(/\*\*(.+?)\*\*/g, "*$1*"), ctx));
  },
  rich_text(block, ctx) {
    return el("div", "rich-text", ...(block.elements ?? []).map((part) => richPart(part, ctx)));
  },
};

function unsupported(block) {
  return el("div", "unsupported", `[${block.type} block: not shown by the sandbox page]`);
}

function fileSource(slackFile) {
  if (!slackFile) return "";
  return slackFile.id ? `/_sandbox/files/${encodeURIComponent(slackFile.id)}` : slackFile.url ?? "";
}

function image(src, alt, className) {
  const img = el("img", className);
  img.alt = alt ?? "";
  img.loading = "lazy";
  // An image from the internet cannot load offline: say what it was instead of a broken icon.
  img.addEventListener("error", () => img.replaceWith(el("span", "image-missing", `🖼️ ${alt || "image"} (not available offline)`)), { once: true });
  img.src = src ?? "";
  return img;
}

function richPart(part, ctx) {
  const runs = (items) => (items ?? []).map((item) => richRun(item, ctx));
  switch (part.type) {
    case "rich_text_preformatted":
      return el("pre", null, el("code", null, ...runs(part.elements)));
    case "rich_text_quote":
      return el("blockquote", null, ...runs(part.elements));
    case "rich_text_list": {
      const list = el(part.style === "ordered" ? "ol" : "ul");
      for (const item of part.elements ?? []) list.append(el("li", null, ...runs(item.elements)));
      return list;
    }
    default:
      return el("p", null, ...runs(part.elements));
  }
}

function richRun(item, ctx) {
  let node;
  if (item.type === "link") {
    node = el("a", null, item.text ?? item.url);
    if (/^(https?:|mailto:)/i.test(item.url ?? "")) node.href = item.url;
    node.target = "_blank";
    node.rel = "noopener noreferrer";
  } else if (item.type === "user") {
    node = el("span", "mention", "@" + (ctx.userName?.(item.user_id) ?? item.user_id));
  } else if (item.type === "channel") {
    node = el("span", "mention", "#" + (ctx.channelName?.(item.channel_id) ?? item.channel_id));
  } else if (item.type === "emoji") {
    node = document.createTextNode(item.unicode ? String.fromCodePoint(...item.unicode.split("-").map((h) => parseInt(h, 16))) : `:${item.name}:`);
    return node;
  } else {
    node = document.createTextNode(item.text ?? "");
  }
  const style = item.style ?? {};
  for (const [flag, tag] of [["code", "code"], ["strike", "s"], ["italic", "em"], ["bold", "strong"]]) {
    if (style[flag]) node = el(tag, null, node);
  }
  return node;
}

// --- interactive elements ----------------------------------------------------------------------

export function element(item, block, ctx) {
  switch (item.type) {
    case "button":
      return button(item, block, ctx);
    case "static_select":
    case "overflow":
      return select(item, block, ctx);
    case "image":
      return image(item.image_url ?? fileSource(item.slack_file), item.alt_text, "accessory-image");
    default:
      return el("span", "unsupported", `[${item.type}]`);
  }
}

function button(item, block, ctx) {
  const node = el("button", `btn ${item.style ?? ""}`.trim(), plain(item.text?.text ?? "", item.text?.emoji !== false));
  node.type = "button";
  node.dataset.actionId = item.action_id ?? "";
  if (item.accessibility_label) node.setAttribute("aria-label", item.accessibility_label);
  node.addEventListener("click", async () => {
    if (item.url) window.open(item.url, "_blank", "noopener");
    if (item.confirm && !(await ctx.confirm(item.confirm))) return;
    await inFlight(node, ctx.onAction({ action_id: item.action_id, block_id: block.block_id, value: item.value ?? "" }));
  });
  return node;
}

function select(item, block, ctx) {
  const node = el("select", "select");
  node.dataset.actionId = item.action_id ?? "";
  const options = [...(item.options ?? []), ...(item.option_groups ?? []).flatMap((g) => g.options ?? [])];
  const placeholder = item.type === "overflow" ? "⋯ More" : words(item.placeholder) || "Select an option";
  node.setAttribute("aria-label", item.type === "overflow" ? "More actions" : placeholder);
  node.append(new Option(placeholder, "", true, !item.initial_option));
  node.firstChild.disabled = true;
  options.forEach((option, i) => {
    node.append(new Option(words(option.text), String(i), false, item.initial_option?.value === option.value));
  });
  node.addEventListener("change", async () => {
    const chosen = options[Number(node.value)];
    if (!chosen) return;
    if (item.confirm && !(await ctx.confirm(item.confirm))) return;
    await inFlight(node, ctx.onAction({ action_id: item.action_id, block_id: block.block_id, selected_option: chosen }));
    if (item.type === "overflow") node.selectedIndex = 0;
  });
  return node;
}

async function inFlight(node, promise) {
  node.disabled = true;
  node.setAttribute("aria-busy", "true");
  try {
    await promise;
  } finally {
    node.disabled = false;
    node.removeAttribute("aria-busy");
  }
}

// --- files and legacy attachments ---------------------------------------------------------------

export function fileUrl(file) {
  return `/_sandbox/files/${encodeURIComponent(file.id)}`;
}

export function renderFiles(files) {
  const list = el("ul", "files");
  list.setAttribute("aria-label", "Files");
  for (const file of files ?? []) {
    const link = el("a", "file-link", file.title || file.name);
    link.href = fileUrl(file);
    link.download = file.name ?? "";
    const meta = el("span", "file-meta", `${file.pretty_type ?? file.filetype ?? "File"} · ${size(file.size)}`);
    const isImage = String(file.mimetype ?? "").startsWith("image/");
    const item = el("li", "file", el("span", "file-icon", isImage ? "🖼️" : "📄"), el("span", "file-text", link, meta));
    item.firstChild.setAttribute("aria-hidden", "true");
    if (isImage) item.append(image(fileUrl(file), file.alt_txt ?? file.title ?? file.name, "file-image"));
    list.append(item);
  }
  return list;
}

function size(bytes) {
  const n = Number(bytes ?? 0);
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

const COLORS = { good: "#2eb67d", warning: "#ecb22e", danger: "#e01e5a" };

export function renderAttachments(attachments, ctx) {
  const wrap = el("div", "attachments");
  for (const a of attachments ?? []) {
    const node = el("div", "attachment");
    node.style.borderLeftColor = COLORS[a.color] ?? (a.color ? `#${String(a.color).replace(/^#/, "")}` : "#ddd");
    if (a.pretext) node.append(el("div", "attachment-pretext", mrkdwn(a.pretext, ctx)));
    if (a.title) node.append(el("div", "attachment-title", a.title));
    if (a.text) node.append(el("div", "attachment-text", mrkdwn(a.text, ctx)));
    if (a.fields?.length) {
      node.append(el("div", "fields", ...a.fields.map((f) => el("div", "field", el("strong", null, f.title ?? ""), el("div", null, mrkdwn(f.value ?? "", ctx))))));
    }
    if (a.blocks?.length) node.append(renderBlocks(a.blocks, ctx));
    if (a.footer) node.append(el("div", "attachment-footer", mrkdwn(a.footer, ctx)));
    wrap.append(node);
  }
  return wrap;
}
