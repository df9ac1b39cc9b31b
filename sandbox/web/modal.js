// Modals: the top of the person's view stack (opened by the app with views.open, changed by
// views.update / views.push), shown in a <dialog>. Input blocks are rendered as form fields
// (plain_text_input, number/email/url inputs, static_select, radio_buttons, checkboxes,
// datepicker, file_input); Submit sends view_submission with their values, Cancel closes the
// view (view_closed when the app asked for it). `response_action: errors` appear next to
// the inputs they name, as in Slack.
//
// A file_input uploads the chosen file to the Slack stand-in first (a person's upload,
// POST /_sandbox/files) and submits its file id, as Slack's client does.

import { el, renderBlock, textObject, words } from "./blocks.js";

const REQUIRED = "Please complete this required field.";

export class Modal {
  /**
   * `page`: { me(), post(path, body) -> Promise<json>, upload(blob, name) -> Promise<file>,
   *           samples: [{name, url}], blockContext(viewId), refresh(), toast(text), restoreFocus() }
   */
  constructor(dialog, page) {
    this.dialog = dialog;
    this.page = page;
    this.view = null;
    this.values = {};
    this.missing = {}; // block_id -> "required" message, found here before submitting
    this.errors = {}; // block_id -> message, from the app's response_action: errors
    this.busy = false;
    this.dismissed = new Set(); // closed here, maybe not yet in the stand-in's answer
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      this.close();
    });
  }

  /** Show what the stand-in says is open for this person: `views` = {stack, errors}. */
  sync(views) {
    const open = new Set((views?.stack ?? []).map((v) => v.id));
    for (const id of this.dismissed) if (!open.has(id)) this.dismissed.delete(id);
    const top = views?.stack?.filter((v) => !this.dismissed.has(v.id)).at(-1) ?? null;
    if (!top) {
      this.hide();
      return;
    }
    const fresh = !this.view || this.view.id !== top.id;
    if (fresh) {
      this.values = {};
      this.missing = {};
    }
    if (fresh || this.view.hash !== top.hash) {
      this.view = top;
      this.render();
    }
    this.errors = views.errors?.[top.id] ?? {};
    this.showErrors();
    if (!this.dialog.open) {
      this.dialog.showModal();
      this.focusFirst();
    } else if (fresh) {
      this.focusFirst();
    }
  }

  hide() {
    if (!this.view) return;
    this.view = null;
    this.values = {};
    this.missing = {};
    if (this.dialog.open) this.dialog.close();
    this.page.restoreFocus();
  }

  focusFirst() {
    const target = this.dialog.querySelector("input:not([type=hidden]), select, textarea, .modal-body button") ?? this.dialog.querySelector("footer button");
    target?.focus();
  }

  render() {
    const view = this.view;
    const title = el("h2", "modal-title", words(view.title));
    title.id = "modal-title";
    const body = el("div", "modal-body");
    for (const block of view.blocks ?? []) {
      body.append(block.type === "input" ? this.input(block) : renderBlock(block, this.page.blockContext(view.id)));
    }
    const close = el("button", "btn", words(view.close) || (view.submit ? "Cancel" : "Close"));
    close.type = "button";
    close.addEventListener("click", () => this.close());
    const footer = el("footer", "modal-footer", close);
    if (view.submit) {
      const submit = el("button", "btn primary", words(view.submit));
      submit.type = "submit";
      submit.id = "modal-submit";
      footer.append(submit);
    }
    const form = el("form", "modal-form", el("header", "modal-header", title), body, footer);
    form.noValidate = true;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.dialog.replaceChildren(form);
    this.dialog.setAttribute("aria-labelledby", "modal-title");
  }

  // --- inputs ---------------------------------------------------------------------------------

  input(block) {
    const item = block.element ?? {};
    const id = `input-${block.block_id}-${item.action_id}`;
    const hint = block.hint ? el("p", "hint", textObject(block.hint, {})) : null;
    const error = el("p", "input-error");
    error.id = `${id}-error`;
    error.hidden = true;
    if (hint) hint.id = `${id}-hint`;
    const describedBy = [hint?.id, error.id].filter(Boolean).join(" ");
    const label = el("span", null, words(block.label), block.optional ? el("span", "optional", " (optional)") : null);
    const field = this.field(block, item, id, describedBy, label);
    const wrap = el("div", "input-block", field, hint, error);
    wrap.dataset.blockId = block.block_id;
    return wrap;
  }

  field(block, item, id, describedBy, labelContent) {
    const grouped = item.type === "radio_buttons" || item.type === "checkboxes";
    const control = this.control(block, item, id);
    control.querySelectorAll?.("input, select, textarea").forEach((c) => c.setAttribute("aria-describedby", describedBy));
    if (control.matches?.("input, select, textarea")) control.setAttribute("aria-describedby", describedBy);
    if (grouped) return el("fieldset", "input-field", el("legend", "input-label", labelContent), control);
    const label = el("label", "input-label", labelContent);
    label.htmlFor = id;
    return el("div", "input-field", label, control);
  }

  control(block, item, id) {
    const set = (value) => {
      (this.values[block.block_id] ??= {})[item.action_id] = value;
      if (this.missing[block.block_id]) {
        delete this.missing[block.block_id];
        this.showErrors();
      }
    };
    const current = this.values[block.block_id]?.[item.action_id];
    switch (item.type) {
      case "plain_text_input":
      case "number_input":
      case "email_text_input":
      case "url_text_input": {
        const multiline = item.type === "plain_text_input" && item.multiline;
        const node = el(multiline ? "textarea" : "input", "text-input");
        if (!multiline) node.type = { number_input: "number", email_text_input: "email", url_text_input: "url" }[item.type] ?? "text";
        if (item.max_length) node.maxLength = item.max_length;
        if (item.placeholder) node.placeholder = words(item.placeholder);
        node.value = current ?? item.initial_value ?? "";
        node.addEventListener("input", () => set(node.value));
        return Object.assign(node, { id });
      }
      case "static_select": {
        const node = el("select", "select");
        node.append(new Option(words(item.placeholder) || "Choose…", ""));
        for (const option of item.options ?? []) node.append(new Option(words(option.text), option.value));
        node.value = current ?? item.initial_option?.value ?? "";
        node.addEventListener("change", () => set(node.value));
        return Object.assign(node, { id });
      }
      case "datepicker": {
        const node = el("input", "text-input");
        node.type = "date";
        node.value = current ?? item.initial_date ?? "";
        node.addEventListener("change", () => set(node.value));
        return Object.assign(node, { id });
      }
      case "radio_buttons":
      case "checkboxes":
        return this.choices(item, id, current, set);
      case "file_input":
        return this.fileInput(item, id, current, set);
      default:
        return el("p", "unsupported", `[${item.type} input: not supported by the sandbox page]`);
    }
  }

  choices(item, id, current, set) {
    const multiple = item.type === "checkboxes";
    const initial = multiple ? (item.initial_options ?? []).map((o) => o.value) : [item.initial_option?.value];
    const chosen = new Set(current ?? initial.filter(Boolean));
    const list = el("div", "choices");
    (item.options ?? []).forEach((option, i) => {
      const box = el("input");
      box.type = multiple ? "checkbox" : "radio";
      box.name = id;
      box.id = `${id}-${i}`;
      box.checked = chosen.has(option.value);
      box.addEventListener("change", () => {
        const picked = [...list.querySelectorAll("input")].filter((b) => b.checked).map((b) => item.options[Number(b.id.split("-").at(-1))].value);
        set(multiple ? picked : picked[0] ?? "");
      });
      const label = el("label", null, box, " ", textObject(option.text, {}));
      list.append(label);
    });
    return list;
  }

  fileInput(item, id, current, set) {
    const files = current ?? [];
    const picker = el("input", "file-input");
    picker.type = "file";
    picker.id = id;
    picker.multiple = (item.max_files ?? 10) > 1;
    if (item.filetypes?.length) picker.accept = item.filetypes.map((t) => "." + t).join(",");
    const status = el("p", "file-status");
    status.setAttribute("role", "status");
    const show = (list) => {
      status.textContent = list.length ? "Uploaded: " + list.map((f) => `${f.name} (${f.size} bytes)`).join(", ") : "No file chosen yet.";
    };
    show(files);
    const upload = async (blobs) => {
      status.textContent = "Uploading…";
      try {
        const uploaded = [];
        for (const [blob, name] of blobs.slice(0, item.max_files ?? 10)) uploaded.push(await this.page.upload(blob, name));
        set(uploaded);
        show(uploaded);
      } catch (error) {
        status.textContent = `Upload failed: ${error.message}`;
      }
    };
    picker.addEventListener("change", () => upload([...picker.files].map((f) => [f, f.name])));
    const wrap = el("div", "file-input-wrap", picker, status);
    for (const sample of this.page.samples ?? []) {
      const use = el("button", "btn small", `Use the demo's ${sample.name}`);
      use.type = "button";
      use.addEventListener("click", async () => {
        const response = await fetch(sample.url);
        await upload([[await response.blob(), sample.name]]);
      });
      wrap.append(use);
    }
    return wrap;
  }

  // --- errors, submit, close ------------------------------------------------------------------

  showErrors() {
    const shown = { ...this.errors, ...this.missing };
    for (const wrap of this.dialog.querySelectorAll(".input-block")) {
      this.setError(wrap, shown[wrap.dataset.blockId] ?? null);
    }
  }

  setError(wrap, message) {
    const error = wrap.querySelector(".input-error");
    error.textContent = message ?? "";
    error.hidden = !message;
    wrap.classList.toggle("has-error", Boolean(message));
    for (const control of wrap.querySelectorAll("input, select, textarea")) {
      if (message) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    }
  }

  /** The values as view_submission takes them: {block_id: {action_id: value}}. */
  collect() {
    const values = {};
    const missing = [];
    for (const block of this.view.blocks ?? []) {
      if (block.type !== "input" || !block.element) continue;
      const item = block.element;
      let value = this.values[block.block_id]?.[item.action_id];
      if (value === undefined) value = initialValue(item);
      if (Array.isArray(value) && item.type === "file_input") value = value.map((f) => f.id);
      const empty = value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length);
      if (empty) {
        if (!block.optional) missing.push(block.block_id);
        continue;
      }
      (values[block.block_id] ??= {})[item.action_id] = value;
    }
    return { values, missing };
  }

  async submit() {
    if (this.busy || !this.view) return;
    const { values, missing } = this.collect();
    this.missing = Object.fromEntries(missing.map((bid) => [bid, REQUIRED]));
    this.showErrors();
    if (missing.length) {
      this.dialog.querySelector(`.input-block[data-block-id="${CSS.escape(missing[0])}"] input, .input-block[data-block-id="${CSS.escape(missing[0])}"] select, .input-block[data-block-id="${CSS.escape(missing[0])}"] textarea`)?.focus();
      return;
    }
    const button = this.dialog.querySelector("#modal-submit");
    const label = button?.textContent;
    this.busy = true;
    if (button) {
      button.disabled = true;
      button.textContent = "Working…";
    }
    try {
      const answer = await this.page.post("/api/submit", { user: this.page.me(), view_id: this.view.id, values });
      if (!answer.ok) this.page.toast(`The app could not take this form: ${answer.error}`);
      await this.page.refresh();
    } finally {
      this.busy = false;
      if (button?.isConnected) {
        button.disabled = false;
        button.textContent = label;
      }
    }
  }

  async close() {
    if (!this.view) return;
    const viewId = this.view.id;
    this.dismissed.add(viewId);
    this.hide();
    await this.page.post("/api/close", { user: this.page.me(), view_id: viewId });
    await this.page.refresh();
  }
}

function initialValue(item) {
  if (item.initial_value !== undefined) return item.initial_value;
  if (item.initial_option) return item.initial_option.value;
  if (item.initial_options) return item.initial_options.map((o) => o.value);
  if (item.initial_date) return item.initial_date;
  return undefined;
}
