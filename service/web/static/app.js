// formscan's pages: small plain scripts over the JSON API (session cookie + CSRF token).
"use strict";
(function () {
  const FS = window.FS;
  const T = (key) => FS.strings[key] || key;
  const $ = (sel, root) => (root || document).querySelector(sel);
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined) node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : String(c));
    return node;
  };

  async function api(method, url, body) {
    const headers = { Accept: "application/json" };
    if (FS.csrf && method !== "GET") headers["X-CSRF-Token"] = FS.csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    if (response.status !== 204) {
      try { data = await response.json(); } catch (e) { data = null; }
    }
    return { ok: response.ok, status: response.status, data };
  }

  // A problem+json answer in the user's language: the detail and what to do.
  function problemNode(problem, title) {
    const known = problem && FS.problems[problem.code];
    const detail = known ? known[0] : (problem && problem.detail) || T("error.generic");
    const fix = known ? known[1] : (problem && problem.fix) || "";
    const box = el("div", { class: "problem", "data-code": (problem && problem.code) || "" });
    if (title) box.append(el("strong", {}, title + ": "));
    box.append(el("span", { class: "detail" }, detail));
    if (fix) box.append(el("p", { class: "fix" }, T("problem.fix") + ": " + fix));
    return box;
  }

  const reasonText = (r) => FS.strings["reason." + r] || r.replace(/_/g, " ");
  const fmt = (v) => (v === null || v === undefined ? "" : Number(v).toLocaleString(FS.lang === "vi" ? "vi-VN" : "en-US"));
  const parseNumber = (s) => { const d = String(s).replace(/[^0-9]/g, ""); return d === "" ? null : Number(d); };

  function wireChrome() {
    const out = $("#sign-out");
    if (out) out.addEventListener("click", async () => { await api("DELETE", "/api/session"); location.href = "/login"; });
    const lang = $("#lang-switch");
    lang.addEventListener("click", () => {
      document.cookie = "formscan_lang=" + lang.dataset.lang + "; path=/; max-age=31536000; samesite=lax";
      location.reload();
    });
  }

  // --- sign in ------------------------------------------------------------------
  function loginPage() {
    $("#login-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const r = await api("POST", "/api/session", { username: $("#username").value, password: $("#password").value });
      if (r.ok) { location.href = FS.page.next || "/"; return; }
      const box = $("#login-error");
      box.textContent = r.status === 401 ? T("login.failed") : (r.data && r.data.detail) || T("error.generic");
      box.hidden = false;
    });
  }

  // --- the readings table (upload and submission pages) ----------------------------
  // readings: ReadingPublic list; rows: the layout's rows. Flagged cells are highlighted
  // with their crop beside; clicking any value makes it editable.
  function readingsTable(container, readings, rows, onChange) {
    const byRow = new Map();
    for (const r of readings) { if (!byRow.has(r.row_key)) byRow.set(r.row_key, []); byRow.get(r.row_key).push(r); }
    const table = el("table", { class: "readings" });
    table.append(el("thead", {}, el("tr", {}, el("th", {}, "#"), el("th", {}, T("table.row")), el("th", {}, T("table.unit")),
      el("th", {}, T("table.count") + " / " + T("table.value")), el("th", {}, T("table.people")), el("th", {}, T("table.image")))));
    const body = el("tbody");
    const known = new Set(rows.map((r) => r.key));
    const allRows = rows.concat([...byRow.keys()].filter((k) => !known.has(k)).map((k) => ({ key: k, label: k, unit: "", number: "" })));
    for (const row of allRows) {
      const fields = byRow.get(row.key) || [];
      const tr = el("tr", { "data-row": row.key, class: row.kind === "section" ? "section" : "" });
      tr.append(el("td", {}, row.number || ""), el("td", {}, row.label), el("td", {}, row.unit || ""));
      const first = fields.find((f) => f.field === "count" || f.field === "value");
      const people = fields.find((f) => f.field === "people");
      const crops = el("td", { class: "crops" });
      for (const f of [first, people]) {
        const td = el("td", { class: "value" });
        if (f) {
          td.append(valueCell(f, onChange));
          if (f.flagged && f.box) crops.append(el("img", { class: "crop", src: "/api/readings/" + f.id + "/crop.png", alt: f.row_key + " " + f.field, "data-reading": f.id }));
        }
        tr.append(td);
      }
      tr.append(crops);
      if (fields.some((f) => f.flagged)) tr.classList.add("flagged");
      body.append(tr);
    }
    table.append(body);
    container.replaceChildren(table);
  }

  function valueCell(reading, onChange) {
    const wrap = el("div", { class: "cell " + (reading.flagged ? "flagged" : reading.decision ? "decided" : "ok"), "data-reading": reading.id, "data-field": reading.field });
    const shown = el("span", { class: "shown", title: reading.reasons.map(reasonText).join("; ") }, reading.value === null ? "—" : fmt(reading.value));
    wrap.append(shown);
    if (reading.flagged) wrap.append(el("span", { class: "why" }, reading.reasons.map(reasonText).join("; ")));
    const edit = () => {
      if (wrap.querySelector("input")) return;
      const input = el("input", { type: "text", inputmode: "numeric", class: "edit", value: reading.value === null ? "" : String(reading.value), "aria-label": reading.row_key + " " + reading.field });
      const save = el("button", { type: "button", class: "save" }, T("table.save"));
      const submit = async () => {
        const typed = parseNumber(input.value);
        const action = typed === reading.value ? "confirm" : "correct";
        await onChange(reading, action, typed);
      };
      input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); submit(); } if (ev.key === "Escape") wrap.replaceWith(valueCell(reading, onChange)); });
      save.addEventListener("click", submit);
      wrap.append(input, save);
      input.focus(); input.select();
    };
    shown.addEventListener("click", edit);
    if (reading.flagged) {
      const confirm = el("button", { type: "button", class: "confirm" }, T("table.confirm"));
      confirm.addEventListener("click", () => onChange(reading, "confirm", null));
      const fix = el("button", { type: "button", class: "fix-btn" }, "✎");
      fix.addEventListener("click", edit);
      wrap.append(confirm, fix);
    }
    return wrap;
  }

  // Loads a submission's readings into #result; decisions go through the decisions API.
  async function showReadings(submissionId, layoutId, afterDecision) {
    const r = await api("GET", "/api/submissions/" + submissionId + "/readings");
    if (!r.ok) { $("#message").replaceChildren(problemNode(r.data)); return null; }
    const rows = (FS.page.rows || {})[layoutId] || [];
    const decide = async (reading, action, value) => {
      const body = { action, version: reading.version };
      if (action === "correct") body.value = value;
      const d = await api("POST", "/api/readings/" + reading.id + "/decisions", body);
      if (!d.ok) $("#message").replaceChildren(problemNode(d.data));
      else $("#message").replaceChildren(el("p", { class: "ok" }, T("review.saved")));
      await showReadings(submissionId, layoutId, afterDecision);
      if (d.ok && afterDecision) afterDecision(d.data);
    };
    readingsTable($("#result"), r.data.fields, rows, decide);
    return r.data;
  }

  // --- upload -------------------------------------------------------------------
  function uploadPage() {
    const input = $("#files"), drop = $("#drop"), list = $("#file-list");
    let files = [];
    const setFiles = (fl) => { files = Array.from(fl); list.replaceChildren(...files.map((f) => el("li", {}, f.name + " (" + Math.ceil(f.size / 1024) + " KB)"))); };
    input.addEventListener("change", () => setFiles(input.files));
    drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (ev) => { ev.preventDefault(); drop.classList.remove("over"); setFiles(ev.dataTransfer.files); });
    const bar = $("#progress-bar"), label = $("#progress-label"), text = $("#progress-text"), message = $("#message");
    const status = (s) => { const b = $("#submission-status"); if (b) b.textContent = T("status." + s); };

    $("#upload-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      message.replaceChildren(); $("#result").replaceChildren();
      if (!files.length) { message.replaceChildren(problemNode({ code: "no_files", detail: T("upload.no_files") }, T("upload.refused"))); return; }
      const form = new FormData();
      form.append("unit", $("#unit").value);
      form.append("campaign", $("#campaign").value);
      for (const f of files) form.append("files", f, f.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/submissions");
      xhr.setRequestHeader("X-CSRF-Token", FS.csrf || "");
      xhr.setRequestHeader("Accept", "application/json");
      $("#progress").hidden = false; label.textContent = T("upload.uploading"); bar.value = 0;
      xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) { bar.value = (100 * e.loaded) / e.total; text.textContent = Math.round(bar.value) + " %"; } });
      xhr.addEventListener("load", () => {
        let data = null; try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (xhr.status === 200 || xhr.status === 202) { bar.value = 100; follow(data); }
        else { $("#progress").hidden = true; message.replaceChildren(problemNode(data, T("upload.refused"))); }
      });
      xhr.addEventListener("error", () => message.replaceChildren(problemNode(null, T("upload.refused"))));
      xhr.send(form);
    });

    async function follow(submission) {
      const id = submission.id;
      const layout = submission.layout_id;
      label.textContent = T("upload.reading"); bar.value = 0; text.textContent = "";
      for (;;) {
        const r = await api("GET", "/api/submissions/" + id);
        if (!r.ok) { message.replaceChildren(problemNode(r.data)); return; }
        const s = r.data, p = s.progress;
        if (p.pages_total) { bar.max = p.pages_total; bar.value = p.pages_done; text.textContent = p.pages_done + " / " + p.pages_total; }
        if (s.status === "failed") { message.replaceChildren(problemNode(s.error, T("upload.failed"))); return; }
        if (s.status === "needs_review" || s.status === "clean") {
          label.textContent = T("status." + s.status);
          // The table first, then the "done" line: whoever waits for it finds the table.
          await showReadings(id, layout, (d) => { label.textContent = T("status." + d.submission_status); });
          message.replaceChildren(el("p", { class: "ok", id: "read-done", "data-submission": id }, s.status === "clean" ? T("upload.clean") : T("upload.done")),
            el("p", {}, el("a", { href: "/submissions/" + id }, T("submission.title") + " " + id)));
          return;
        }
        await new Promise((ok) => setTimeout(ok, 400));
      }
    }
  }

  // --- one submission: page images with cells, readings, history ---------------------
  async function submissionPage() {
    const id = FS.page.submissionId;
    const refreshAudit = async () => {
      const r = await api("GET", "/api/submissions/" + id + "/audit");
      if (!r.ok) return;
      $("#audit tbody").replaceChildren(...r.data.slice().reverse().map((e) => el("tr", {},
        el("td", {}, new Date(e.at || e.created_at).toLocaleString(FS.lang === "vi" ? "vi-VN" : "en-US")),
        el("td", {}, e.actor), el("td", {}, e.action + (e.new ? " " + JSON.stringify(e.new) : "")))));
    };
    let fields = [];
    const refresh = async (d) => {
      if (d) $("#submission-status").textContent = T("status." + d.submission_status);
      for (const img of document.querySelectorAll(".page-image")) img.src = img.src.replace(/&t=\d+$/, "") + "&t=" + Date.now();
      await refreshAudit();
    };
    const data = await showReadings(id, FS.page.layoutId, refresh);
    if (data) fields = data.fields;
    await refreshAudit();
    // A click on a cell of a page image opens that reading's value for editing.
    for (const img of document.querySelectorAll(".page-image")) {
      img.addEventListener("click", async (ev) => {
        const page = Number(img.dataset.page);
        const scale = img.naturalWidth / img.clientWidth;
        const x = ev.offsetX * scale, y = ev.offsetY * scale;
        const r = await api("GET", "/api/submissions/" + id + "/readings");
        if (r.ok) fields = r.data.fields;
        const hit = fields.find((f) => f.page === page && f.box && x >= f.box[0] && x < f.box[0] + f.box[2] && y >= f.box[1] && y < f.box[1] + f.box[3]);
        if (!hit) return;
        const cell = document.querySelector('.cell[data-reading="' + hit.id + '"] .shown');
        if (cell) { cell.scrollIntoView({ block: "center" }); cell.click(); }
      });
    }
  }

  // --- the review queue: one field at a time, keyboard only ----------------------------
  function reviewPage() {
    const skipped = new Set();
    let items = [], total = 0, current = null, busy = false;
    const answer = $("#answer"), msg = $("#review-message");
    const preload = (item) => { if (item && item.crop_url) { const i = new Image(); i.src = item.crop_url; } };

    async function fetchQueue() {
      const t0 = performance.now();
      const r = await api("GET", "/api/review/queue?limit=" + (skipped.size + 3));
      window.FS.lastQueueMs = performance.now() - t0;
      if (!r.ok) { msg.replaceChildren(problemNode(r.data)); return; }
      items = r.data.items.filter((i) => !skipped.has(i.reading_id));
      total = r.data.total - [...skipped].length;
      items.slice(1).forEach(preload);
    }

    function show(item) {
      current = item;
      $("#left").textContent = Math.max(total, 0);
      if (!item) { $("#item").hidden = true; $("#done").hidden = false; return; }
      $("#done").hidden = true; $("#item").hidden = false;
      $("#item").dataset.reading = item.reading_id;
      $("#item-unit").textContent = item.unit.code + " — " + item.unit.name;
      const link = $("#item-submission"); link.href = "/submissions/" + item.submission_id; link.textContent = T("review.submission") + " " + item.submission_id;
      const crop = $("#crop"); if (item.crop_url) { crop.src = item.crop_url; crop.hidden = false; } else crop.hidden = true;
      $("#row-label").textContent = item.row_label || item.row_key;
      $("#row-unit").textContent = item.unit_of_measure;
      $("#field-title").textContent = T("table." + item.field);
      $("#proposed").textContent = item.value === null ? "—" : fmt(item.value);
      $("#reasons").textContent = item.reasons.map(reasonText).join("; ");
      answer.value = ""; answer.focus();
    }

    async function next() {
      items.shift();
      total -= 1;
      show(items[0] || null);               // at once, from the prefetched list
      await fetchQueue();                   // then refresh the list and counter
      if (!current || !items.length || items[0].reading_id !== current.reading_id) show(items[0] || null);
      else $("#left").textContent = Math.max(total, 0);
    }

    async function decide(action, value) {
      if (!current || busy) return;
      busy = true;
      const body = { action, version: current.version };
      if (action === "correct") body.value = value;
      const r = await api("POST", "/api/readings/" + current.reading_id + "/decisions", body);
      busy = false;
      if (r.ok) { msg.textContent = T("review.saved"); await next(); return; }
      if (r.status === 409) {
        const fresh = await api("GET", "/api/readings/" + current.reading_id);
        msg.replaceChildren(el("strong", {}, T("review.conflict")));
        if (fresh.ok) {
          if (!fresh.data.flagged) { msg.append(" " + fmt(fresh.data.value) + " (" + (fresh.data.decided_by || "") + ")"); await next(); return; }
          current.version = fresh.data.version; current.value = fresh.data.value; current.reasons = fresh.data.reasons;
          show(current);
        }
        return;
      }
      msg.replaceChildren(problemNode(r.data));
    }

    answer.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        const typed = parseNumber(answer.value);
        if (typed === null) {
          if (current && current.value === null) { msg.textContent = T("review.no_proposal"); return; }
          decide("confirm", null);
        } else decide(typed === current.value ? "confirm" : "correct", typed);
      } else if (ev.key === "F2") {
        ev.preventDefault(); decide("unreadable", null);
      } else if (ev.key === "Tab") {
        ev.preventDefault();
        if (current) { skipped.add(current.reading_id); msg.textContent = ""; items.shift(); show(items[0] || null); fetchQueue(); }
      } else if (ev.key.length === 1 && !/[0-9.,]/.test(ev.key) && !ev.ctrlKey && !ev.metaKey) {
        ev.preventDefault();   // only digits (and separators) go into the answer
      }
    });
    fetchQueue().then(() => show(items[0] || null));
  }

  document.addEventListener("DOMContentLoaded", () => {
    wireChrome();
    const page = document.body.dataset.page;
    ({ login: loginPage, upload: uploadPage, submission: submissionPage, review: reviewPage }[page] || (() => {}))();
  });
})();
