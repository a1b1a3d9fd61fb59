// The voice studio page: sample -> check/fix -> clone -> audition -> voices.
// Every rule lives in the library behind /studio/api; this page only asks and shows.

import { api, ApiError, follow, setKey } from "./api.js";
import { Recorder } from "./recorder.js";
import { describeWaveform, drawWaveform } from "./waveform.js";

const $ = (id) => document.getElementById(id);

const SENTENCES = {
  zh: "你好，这是我克隆出来的声音。听起来像我吗？",
  en: "Hello! This is my cloned voice. Does it sound like me?",
  fr: "Bonjour ! Voici ma voix clonée. Est-ce qu'elle me ressemble ?",
  de: "Hallo! Das ist meine geklonte Stimme. Klingt sie wie ich?",
  ja: "こんにちは。これは私のクローン音声です。私に似ていますか？",
  ko: "안녕하세요! 제 복제된 목소리예요. 저처럼 들리나요?",
  ru: "Привет! Это мой клонированный голос. Похож на меня?",
  pt: "Olá! Esta é a minha voz clonada. Parece comigo?",
  th: "สวัสดี นี่คือเสียงโคลนของฉัน ฟังดูเหมือนฉันไหม",
  id: "Halo! Ini suara kloning saya. Apakah terdengar seperti saya?",
  vi: "Xin chào! Đây là giọng nói nhân bản của tôi. Nghe có giống tôi không?",
};
const LANGUAGE_NAMES = {
  zh: "Chinese", en: "English", fr: "French", de: "German", ja: "Japanese", ko: "Korean",
  ru: "Russian", pt: "Portuguese", th: "Thai", id: "Indonesian", vi: "Vietnamese",
};
const VERDICT_WORDS = {
  pass: "Good to clone",
  warn: "Usable, with warnings",
  fail: "Not usable: the service would refuse it",
};

// The voice statuses as the API returns them (catalog.VoiceStatus, from /studio/api/config):
// the one place the page learns them; compare with STATUS.ok, never with a literal.
const STATUS = {};

const state = {
  config: null,
  sample: null,        // {id, name, url, ...}
  wave: null,
  voices: [],
  textEdited: false,
  lastLanguage: null,
};

// ---------------------------------------------------------------- errors and progress

function clearErrors(scope) {
  for (const el of scope.querySelectorAll(".error")) el.textContent = "";
  for (const el of scope.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

// Show an error next to the control it names (param), else next to the action's button.
// scope: the id prefix of a section's own controls ("design-": its Prefix is design-prefix).
function showError(err, fallback, scope = "") {
  const message = err instanceof ApiError || err instanceof Error ? err.message : String(err);
  if (err instanceof ApiError && err.status === 401) {
    $("key-form").hidden = false;
    $("err-api_key").textContent = message;
    $("api-key").focus();
    return;
  }
  const param = err instanceof ApiError ? err.param : null;
  const near = $(`err-${fallback}`);
  const slot = (param && ($(`err-${scope}${param}`) || $(`err-${param}`))) || near;
  slot.textContent = message;
  // The control is in another step (e.g. the sample, when Clone refuses it): say it here too.
  if (slot.closest("section") !== near.closest("section")) near.textContent = message;
  const control = param && ($(`${scope}${param}`) || $(param));
  if (control && slot.id === `err-${control.id}`) control.setAttribute("aria-invalid", "true");
}

async function busy(progress, buttons, work) {
  $(progress).hidden = false;
  const disabled = buttons.map((id) => [id, $(id).disabled]);
  for (const id of buttons) $(id).disabled = true;
  try {
    return await work();
  } finally {
    $(progress).hidden = true;
    for (const [id, was] of disabled) $(id).disabled = was;
  }
}

// ---------------------------------------------------------------- config

async function loadConfig() {
  const config = await api("/studio/api/config");
  state.config = config;
  Object.assign(STATUS, config.voice_statuses);
  for (const li of document.querySelectorAll("li[data-status]")) {
    li.dataset.stage = STATUS[li.dataset.status];  // a stage named by the status it shows
  }
  $("region").textContent = config.region;
  const models = $("target_model");
  models.replaceChildren(...config.target_models.map((m) => new Option(m.name, m.name)));
  models.value = config.default_target_model;
  if (!models.value && config.target_models.length) models.value = config.target_models[0].name;
  $("format").replaceChildren(...config.formats.map((f) => new Option(f, f)));
  $("format").value = config.formats.includes("mp3") ? "mp3" : config.formats[0];
  const mpal = config.max_prompt_audio_length;
  $("max_prompt_audio_length").placeholder = `${mpal.default} (${mpal.range[0]}–${mpal.range[1]})`;
  $("prefix-help").textContent = `Letters and digits, up to ${config.prefix_max_length}; part of the voice id.`;
  const [lo, hi] = config.sample.recommended_s;
  $("record-guide").textContent = `Press Record, then read for ${lo}–${hi} s.`;
  $("pause-key").textContent = `pause over ${config.sample.max_pause_s} s`;
  modelChanged();
  designConfig(config.design);
}

function currentModel() {
  return state.config?.target_models.find((m) => m.name === $("target_model").value) || null;
}

// Only the options the chosen model supports (the catalog's table, via /config).
function modelChanged() {
  const model = currentModel();
  if (!model) return;
  const hints = $("language_hints");
  const previous = hints.value;
  hints.replaceChildren(
    new Option("(not set)", ""),
    ...model.language_hints.map((h) => new Option(`${LANGUAGE_NAMES[h] || h} (${h})`, h)),
  );
  $("hint-field").hidden = model.language_hints.length === 0;
  if (model.language_hints.includes(previous)) hints.value = previous;
  $("mpal-field").hidden = !model.max_prompt_audio_length;
  $("preprocess-field").hidden = !model.enable_preprocess;
  $("advanced-none").hidden = model.max_prompt_audio_length || model.enable_preprocess;
  languageChanged();
}

function languageChanged() {
  const language = $("language_hints").value || state.lastLanguage || "en";
  if (!state.textEdited) $("text").value = SENTENCES[language] || SENTENCES.en;
}

// ---------------------------------------------------------------- sample

function useSample(sample, note = "") {
  state.sample = sample;
  $("current").hidden = false;
  $("sample-name").textContent = sample.name;
  $("sample-note").textContent = note;
  $("sample-audio").src = sample.url;
  $("check").disabled = false;
  $("fix").disabled = false;
  $("clone").disabled = false;
  setVerdict("Not checked yet: press Check.");
  $("report").hidden = true;
}

async function uploadBlob(blob, name, fallback) {
  clearErrors($("sample-section"));
  try {
    const { sample } = await api(`/studio/api/samples?name=${encodeURIComponent(name)}`, {
      method: "POST", body: blob, headers: { "Content-Type": blob.type || "application/octet-stream" },
    });
    useSample(sample, `(${(sample.size / 1024).toFixed(0)} KiB)`);
    $("check").focus();
  } catch (err) {
    showError(err, fallback);
  }
}

let recorder = null;

function formatTime(seconds) {
  const m = Math.floor(seconds / 60);
  return `${m}:${(seconds - m * 60).toFixed(1).padStart(4, "0")}`;
}

async function startRecording() {
  clearErrors($("sample-section"));
  const [lo, hi] = state.config.sample.recommended_s;
  const max = state.config.sample.max_s;
  recorder = new Recorder(({ seconds, levelDb, peak }) => {
    $("timer").textContent = formatTime(seconds);
    $("timer").classList.toggle("good", seconds >= lo && seconds <= hi);
    $("level").value = Math.max(-60, Math.min(0, levelDb));
    let guide = seconds < lo ? `Keep reading… ${Math.ceil(lo - seconds)} s to go.`
      : seconds <= hi ? "Good length: press Stop when you finish a sentence."
        : "That is enough: press Stop.";
    if (peak >= 0.99) guide = "Too loud: move back from the microphone.";
    else if (levelDb < -50 && seconds > 1) guide = "I hear almost nothing: is the microphone on?";
    $("record-guide").textContent = guide;
    if (seconds >= max) stopRecording();
  });
  try {
    await recorder.start();
  } catch (err) {
    recorder = null;
    showError(new Error(`cannot record: ${err.message}`), "record");
    return;
  }
  $("record").disabled = true;
  $("stop").disabled = false;
  $("stop").focus();
}

async function stopRecording() {
  if (!recorder) return;
  const current = recorder;
  recorder = null;
  $("stop").disabled = true;
  $("record").disabled = false;
  $("level").value = -60;
  const seconds = current.seconds;
  const wav = await current.stop();
  $("record-guide").textContent = `Recorded ${seconds.toFixed(1)} s.`;
  await uploadBlob(wav, "recording.wav", "record");
}

// ---------------------------------------------------------------- check and fix

function showReport(result, fix = null) {
  const report = result.report;
  const problems = report.problems.filter((p) => p.severity !== "info");
  const first = problems.length ? `: ${problems[0].message}` : "";
  const prefix = fix ? "Fixed sample — " : "";
  setVerdict(`${prefix}${VERDICT_WORDS[report.verdict]}${first}`, report.verdict);
  $("reasons").replaceChildren(...report.problems.map((p) => {
    const li = document.createElement("li");
    li.className = p.severity;
    li.textContent = `${p.severity === "fail" ? "Problem" : p.severity === "warn" ? "Warning" : "Note"}: ${p.message}`
      + (p.fixable ? " (Fix can repair this)" : "");
    return li;
  }));
  if (!report.problems.length) {
    const li = document.createElement("li");
    li.textContent = "No problems found.";
    $("reasons").append(li);
  }
  const m = report.measurements;
  const rows = [
    ["Duration", `${m.duration_s} s`], ["Speech", `${m.speech_s} s`],
    ["Longest stretch", `${m.longest_speech_s} s`], ["Longest pause", `${m.longest_pause_s} s`],
    ["Sample rate", `${m.sample_rate} Hz`], ["Channels", m.channels],
    ["Format", `${m.format}${m.codec ? ` (${m.codec})` : ""}`],
    ["Loudness", m.loudness_lufs === null ? "—" : `${m.loudness_lufs} LUFS`],
    ["Peak", m.peak_dbfs === null ? "—" : `${m.peak_dbfs} dBFS`],
    ["Signal to noise", m.snr_db === null ? "—" : `${m.snr_db} dB`],
    ["Clipped", `${(m.clipped_ratio * 100).toFixed(2)} %`],
    ["Bandwidth", m.bandwidth_hz ? `${m.bandwidth_hz} Hz` : "—"],
    ["Pitch", m.pitch_hz ? `${m.pitch_hz} Hz` : "—"],
  ];
  $("measurements").replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    return [dt, dd];
  }));
  state.wave = result.waveform;
  $("wave-summary").textContent = describeWaveform(result.waveform);
  $("waveform").setAttribute("aria-label", `Waveform, ${describeWaveform(result.waveform)}`);
  const steps = $("fix-steps");
  steps.hidden = !fix;
  steps.replaceChildren(...(fix?.steps || []).map((s) => {
    const li = document.createElement("li");
    li.textContent = s;
    return li;
  }));
  $("report").hidden = false;
  drawWaveform($("waveform"), state.wave);
}

function setVerdict(text, verdict = "") {
  $("verdict").className = `verdict ${verdict}`.trim();
  $("verdict").textContent = text;
}

// Check or fix (the same request, the same way of showing the answer).
async function sampleAction(action, working, failed, show) {
  clearErrors($("check-section"));
  setVerdict(working);
  await busy("check-progress", ["check", "fix"], async () => {
    try {
      const result = await api(`/studio/api/samples/${state.sample.id}/${action}`, {
        method: "POST", json: { target_model: $("target_model").value },
      });
      show(result);
    } catch (err) {
      setVerdict(`${failed}: ${err.message}`, "fail");
      showError(err, "check");
    }
  });
}

const checkSample = () => sampleAction("check", "Checking…", "Could not check the sample",
  (result) => showReport(result));

const fixSample = () => sampleAction("fix", "Repairing…", "Could not repair the sample", (result) => {
  if (!result.sample) {
    setVerdict(`Could not repair it: ${result.fix.reason}`, "fail");
    return;
  }
  useSample(result.sample, `(repaired from ${state.sample.name})`);
  showReport(result, result.fix);
});

// ---------------------------------------------------------------- clone

function showStage(status, list = "clone-status") {
  const order = [...$(list).children].map((li) => li.dataset.stage);
  const at = order.indexOf(status);
  for (const li of $(list).children) {
    const i = order.indexOf(li.dataset.stage);
    li.classList.toggle("done", at >= 0 && i < at || status === STATUS.ok && i === at);
    li.classList.toggle("active", i === at && status !== STATUS.ok);
  }
}

async function cloneVoice(event) {
  event.preventDefault();
  clearErrors($("clone-section"));
  if (!state.sample) {
    showError(new ApiError(400, { message: "record, upload or give a URL for a sample first", param: "sample" }), "clone");
    return;
  }
  const model = currentModel();
  const options = {
    sample_id: state.sample.id,
    prefix: $("prefix").value.trim(),
    target_model: $("target_model").value,
    language_hint: model?.language_hints.length ? $("language_hints").value || null : null,
    force: $("force").checked,
  };
  if (model?.max_prompt_audio_length && $("max_prompt_audio_length").value !== "") {
    options.max_prompt_audio_length = $("max_prompt_audio_length").value;
  }
  if (model?.enable_preprocess && $("enable_preprocess").checked) options.enable_preprocess = true;
  $("clone-result").textContent = "";
  $("clone-status").hidden = false;
  showStage("uploading");
  await busy("clone-progress", ["clone"], async () => {
    try {
      const job = await api("/studio/api/clones", { method: "POST", json: options });
      let reused = false;
      const done = await follow(job.events, (event) => {
        if (event.type !== "status") return;
        reused = reused || event.reused;
        showStage(event.status);
        const elapsed = event.elapsed_s !== undefined ? ` (${event.elapsed_s} s)` : "";
        $("clone-result").textContent = event.reused
          ? `Reused an identical clone: ${event.voice_id} (no new slot used).`
          : event.voice_id ? `${event.voice_id}: ${event.status}${elapsed}` : event.message || event.status;
      });
      const clone = done.clone;
      showStage(clone.status);
      $("clone-result").textContent = clone.reused
        ? `Reused an identical clone: ${clone.voice_id} is ${clone.status} (no new slot used).`
        : `Cloned: ${clone.voice_id} is ${clone.status}.`;
      state.lastLanguage = options.language_hint;
      if (options.language_hint) languageChanged();
      await loadVoices();
      $("voice").value = clone.voice_id;
      voiceChanged();
      $("text").focus();
    } catch (err) {
      $("clone-status").hidden = true;
      $("clone-result").textContent = "";
      showError(err, "clone");
    }
  });
}

// ---------------------------------------------------------------- design

function designConfig(design) {
  const models = $("design-target_model");
  models.replaceChildren(...design.target_models.map((m) => new Option(m, m)));
  if (design.target_models.includes(state.config.default_target_model)) {
    models.value = state.config.default_target_model;
  }
  $("design-language_hints").replaceChildren(
    new Option("(from the text)", ""),
    ...design.languages.map((l) => new Option(`${LANGUAGE_NAMES[l] || l} (${l})`, l)),
  );
  $("design-voice_prompt").maxLength = design.prompt_max_chars;
  $("design-preview_text").maxLength = design.preview_text_max_chars;
  $("design-prefix-help").textContent = `Letters and digits, up to ${state.config.prefix_max_length}; part of the voice id.`;
  const offered = design.target_models.length > 0;
  $("design-where").textContent = offered ? ""
    : `Voice design is offered only in ${design.regions.join(", ")}; this server uses ${state.config.region}.`;
  $("design").disabled = !offered;
  countChars("design-voice_prompt");
  countChars("design-preview_text");
}

// "12 / 500 characters" under a text with a limit (the textarea's maxlength enforces it).
function countChars(id) {
  const field = $(id);
  const max = field.maxLength > 0 ? field.maxLength : null;
  if (!max) return;
  $(`${id}-count`).textContent = `${field.value.length} / ${max} characters`;
  $(`${id}-count`).classList.toggle("full", field.value.length >= max);
}

function showPreview(url, text) {
  if ($("design-audio").getAttribute("src") === url) return;
  $("design-preview-text").textContent = `“${text}”`;
  $("design-audio").src = url;
  $("design-preview").hidden = false;
}

async function designVoice(event) {
  event.preventDefault();
  clearErrors($("design-section"));
  const options = {
    prefix: $("design-prefix").value.trim(),
    prompt: $("design-voice_prompt").value,
    preview_text: $("design-preview_text").value.trim() || null,
    target_model: $("design-target_model").value || null,
    language: $("design-language_hints").value || null,
    force: $("design-force").checked,
  };
  $("design-result").textContent = "";
  $("design-preview").hidden = true;
  $("design-status").hidden = false;
  showStage("designing", "design-status");
  await busy("design-progress", ["design"], async () => {
    try {
      const job = await api("/studio/api/designs", { method: "POST", json: options });
      const done = await follow(job.events, (event) => {
        if (event.type !== "status") return;
        showStage(event.status, "design-status");
        if (event.preview_url) showPreview(event.preview_url, event.preview_text);  // before OK
        const elapsed = event.elapsed_s !== undefined ? ` (${event.elapsed_s} s)` : "";
        $("design-result").textContent = event.reused
          ? `Reused an identical design: ${event.voice_id} (no new slot used).`
          : event.voice_id ? `${event.voice_id}: ${event.status}${elapsed}` : event.message || event.status;
      });
      const design = done.design;
      showStage(design.status, "design-status");
      $("design-result").textContent = design.reused
        ? `Reused an identical design: ${design.voice_id} is ${design.status} (no new slot used).`
        : `Designed: ${design.voice_id} is ${design.status}.`;
      if (done.preview_url) {
        showPreview(done.preview_url, design.preview_text);
      } else {
        $("design-result").textContent += " (The service's preview was not kept: speak with it in Audition.)";
      }
      await loadVoices();
      $("voice").value = design.voice_id;
      voiceChanged();
      if (!state.textEdited) $("text").value = design.preview_text;
    } catch (err) {
      $("design-status").hidden = true;
      $("design-result").textContent = "";
      showError(err, "design", "design-");
    }
  });
}

// ---------------------------------------------------------------- audition

function voiceChanged() {
  const voice = state.voices.find((v) => v.voice_id === $("voice").value);
  const instruction = state.config?.target_models.find((m) => m.name === voice?.target_model)?.instruction;
  $("instruction-field").hidden = !instruction;
  if (!instruction) $("instruction").value = "";
}

async function speak(event) {
  event.preventDefault();
  clearErrors($("speak-section"));
  const audio = $("speech-audio");
  await busy("speak-progress", ["speak"], async () => {
    try {
      const order = await api("/studio/api/speech", {
        method: "POST",
        json: {
          voice: $("voice").value, text: $("text").value, format: $("format").value,
          rate: $("rate").value, pitch: $("pitch").value, volume: $("volume").value,
          instruction: $("instruction-field").hidden ? null : $("instruction").value,
        },
      });
      $("download").href = order.download_url;
      $("download").setAttribute("download", `${order.voice_id}.${order.format}`);
      $("download").hidden = false;
      audio.src = order.audio_url;
      await new Promise((resolve, reject) => {
        const ok = () => { cleanup(); resolve(); };
        const bad = () => { cleanup(); reject(new Error("the browser could not play this audio; try another format")); };
        const cleanup = () => { audio.removeEventListener("canplay", ok); audio.removeEventListener("error", bad); };
        audio.addEventListener("canplay", ok);
        audio.addEventListener("error", bad);
      });
      await audio.play().catch(() => {});  // autoplay may be refused: the controls remain
    } catch (err) {
      showError(err, "speak");
    }
  });
}

// ---------------------------------------------------------------- voices

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text ?? "—";
  if (className) td.className = className;
  return td;
}

function button(label, onClick, extra = {}) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  Object.assign(b, extra);
  b.addEventListener("click", onClick);
  return b;
}

function sampleName(v) {
  const source = v.sample_source || v.sample_url;
  if (!source) return null;
  return source.split(/[\\/]/).pop();
}

function renderVoices() {
  const body = $("voices-table").tBodies[0];
  const rows = [];
  for (const v of state.voices) {
    const tr = document.createElement("tr");
    tr.dataset.voice = v.voice_id;
    const idCell = cell(v.voice_id, "id");
    const status = cell(v.status);
    status.className = `status-${v.status}`;
    const actions = document.createElement("td");
    const row = document.createElement("div");
    row.className = "row";
    row.append(
      button("Show", () => showVoice(v, tr), { ariaExpanded: "false" }),
      button("Use", () => { $("voice").value = v.voice_id; voiceChanged(); $("text").focus(); }),
      ...(v.designed ? [] : [button("Update sample", () => updateSample(v))]),
      button("Delete", () => confirmDelete(v)),
    );
    actions.append(row);
    const origin = v.designed
      ? cell(v.voice_prompt ? `Designed: “${v.voice_prompt}”` : "Designed", "designed")
      : cell(sampleName(v));
    tr.append(idCell, status, cell(v.target_model), cell(v.gmt_create), origin, actions);
    rows.push(tr);
  }
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell($("filter").value ? "No voice has this prefix." : "No voices yet: clone or design one above.");
    td.colSpan = 6;
    tr.append(td);
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  $("voices-caption").textContent = `${state.voices.length} voice${state.voices.length === 1 ? "" : "s"} on the service`;
  const select = $("voice");
  const chosen = select.value;
  const usable = state.voices.filter((v) => v.status === STATUS.ok);
  select.replaceChildren(...usable.map((v) => new Option(
    `${v.prefix || ""} — ${v.voice_id}${v.designed ? " (designed)" : ""}`, v.voice_id)));
  if (!usable.length) select.append(new Option("(no voice ready yet: clone or design one in step 3)", ""));
  if (usable.some((v) => v.voice_id === chosen)) select.value = chosen;
  voiceChanged();
}

async function loadVoices(event) {
  event?.preventDefault();
  clearErrors($("voices-section"));
  $("voices-status").textContent = "";
  await busy("voices-progress", [], async () => {
    try {
      const prefix = $("filter").value.trim();
      const { voices } = await api(`/studio/api/voices${prefix ? `?prefix=${encodeURIComponent(prefix)}` : ""}`);
      state.voices = voices;
      renderVoices();
    } catch (err) {
      showError(err, "voices");
    }
  });
}

async function showVoice(v, tr) {
  const open = tr.nextElementSibling?.classList.contains("details");
  const toggle = tr.querySelector("button");
  if (open) { tr.nextElementSibling.remove(); toggle.ariaExpanded = "false"; return; }
  clearErrors($("voices-section"));
  try {
    const { voice } = await api(`/studio/api/voices/${encodeURIComponent(v.voice_id)}`);
    const details = document.createElement("tr");
    details.className = "details";
    const td = document.createElement("td");
    td.colSpan = 6;
    const dl = document.createElement("dl");
    dl.className = "measurements";
    for (const [k, value] of Object.entries(voice)) {
      if (value === null || value === "") continue;
      const dt = document.createElement("dt");
      dt.textContent = k.replaceAll("_", " ");
      const dd = document.createElement("dd");
      dd.textContent = String(value);
      dl.append(dt, dd);
    }
    td.append(dl);
    details.append(td);
    tr.after(details);
    toggle.ariaExpanded = "true";
  } catch (err) {
    showError(err, "voices");
  }
}

async function updateSample(v) {
  clearErrors($("voices-section"));
  if (!state.sample) {
    showError(new Error("record, upload or give a URL for the new sample first (step 1)"), "voices");
    return;
  }
  if (!confirm(`Give ${v.voice_id} the sample ${state.sample.name}?`)) return;
  await busy("voices-progress", [], async () => {
    try {
      const job = await api(`/studio/api/voices/${encodeURIComponent(v.voice_id)}/sample`, {
        method: "POST", json: { sample_id: state.sample.id },
      });
      await follow(job.events, (event) => {
        $("voices-status").textContent = `${v.voice_id}: ${event.status}`;
      });
      await loadVoices();
    } catch (err) {
      showError(err, "voices");
    }
  });
}

function confirmDelete(v) {
  const dialog = $("confirm");
  $("confirm-text").textContent = `${v.voice_id} will be deleted on the service and frees its slot. This cannot be undone.`;
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "delete") return;
    clearErrors($("voices-section"));
    await busy("voices-progress", [], async () => {
      try {
        await api(`/studio/api/voices/${encodeURIComponent(v.voice_id)}`, { method: "DELETE" });
        $("voices-status").textContent = `Deleted ${v.voice_id}.`;
        state.voices = state.voices.filter((x) => x.voice_id !== v.voice_id);
        renderVoices();
      } catch (err) {
        showError(err, "voices");
      }
    });
  };
  dialog.showModal();
}

// ---------------------------------------------------------------- wiring

function wire() {
  $("record").addEventListener("click", startRecording);
  $("stop").addEventListener("click", stopRecording);
  $("file").addEventListener("change", () => {
    const file = $("file").files[0];
    if (file) uploadBlob(file, file.name, "file");
  });
  $("url-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors($("sample-section"));
    try {
      const { sample } = await api("/studio/api/samples/url", { method: "POST", json: { url: $("url").value } });
      useSample(sample, "(by URL)");
    } catch (err) {
      showError(err, "url");
    }
  });
  $("check").addEventListener("click", checkSample);
  $("fix").addEventListener("click", fixSample);
  $("target_model").addEventListener("change", modelChanged);
  $("language_hints").addEventListener("change", languageChanged);
  $("clone-form").addEventListener("submit", cloneVoice);
  $("speak-form").addEventListener("submit", speak);
  $("design-form").addEventListener("submit", designVoice);
  for (const id of ["design-voice_prompt", "design-preview_text"]) {
    $(id).addEventListener("input", () => countChars(id));
  }
  $("voice").addEventListener("change", voiceChanged);
  $("text").addEventListener("input", () => { state.textEdited = true; });
  $("filter-form").addEventListener("submit", loadVoices);
  $("sample-audio").addEventListener("timeupdate", () => {
    if (state.wave) drawWaveform($("waveform"), state.wave, $("sample-audio").currentTime);
  });
  window.addEventListener("resize", () => drawWaveform($("waveform"), state.wave));
  $("key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    setKey($("api-key").value.trim());
    $("err-api_key").textContent = "";
    await start();
  });
}

async function start() {
  try {
    await loadConfig();
    $("key-form").hidden = true;
    await loadVoices();
  } catch (err) {
    showError(err, "sample");
  }
}

wire();
start();
