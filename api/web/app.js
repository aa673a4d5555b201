// Follow My Reading in the browser: log in, photograph a page, record the reading,
// and see the miscues. Uses the v1 API with fetch() like any client (api.js), and
// draws the result with render.js.
//
// The password goes in a POST body, never in a URL. No inline script or style:
// the page's Content-Security-Policy allows only files from its own origin.

import {
  apiJson, clearSession, fetchBlob, postForm, problem, saveSession, session,
  whenSessionEnds,
} from "./api.js";
import {
  clock, el, keptErrors, markedText, miscueItem, summaryFigures,
} from "./render.js";

const RECORDING_TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"];
const MAX_RECORDING_S = 15 * 60;
const PREFERRED_MODELS = { audio: "whisper", image: "en_easyocr" };
const RECORD_HINT = "Press Record, read the page aloud, then press Stop.";

const $ = (id) => document.getElementById(id);

/** What the page holds: the chosen photo and recording, the last result and the
 * object URLs to release when they are replaced. */
const state = {
  photo: null,
  recording: null,
  recorder: null,
  result: null,
  taskId: null,
  shown: [],
  urls: new Set(),
  cuts: new Map(),
};

/** GET a file with the token as an object URL (released when the check is reset). */
async function objectUrl(path) {
  const url = URL.createObjectURL(await fetchBlob(path));
  state.urls.add(url);
  return url;
}

// ---- Log in and out ----------------------------------------------------------------

function showError(id, message) {
  const node = $(id);
  node.textContent = message || "";
  node.hidden = !message;
}

async function logIn(event) {
  event.preventDefault();
  const username = $("username").value.trim();
  const password = $("password").value;
  if (!username || !password) {
    showError("login-error", "Enter your user name and password.");
    return;
  }
  await withBusy($("login-button"), async () => {
    const response = await postForm("/v1/auth/token", { username, password });
    if (!response.ok) throw await problem(response);
    saveSession(username, await response.json());
    $("password").value = "";
    showError("login-error", "");
    await startSession();
  }, "login-error");
}

async function register() {
  const username = $("username").value.trim();
  const password = $("password").value;
  if (!username || !password) {
    showError("login-error", "Choose a user name and a password, then press Create account.");
    return;
  }
  await withBusy($("register-button"), async () => {
    const response = await postForm("/v1/auth/register", { username, password }, "PUT");
    if (!response.ok) throw await problem(response);
    await logIn(new Event("submit"));
  }, "login-error");
}

/** Revoke the refresh token (the login session ends on the server too), then forget
 * both tokens; a failed revoke still logs out here. */
async function logOut() {
  const current = session();
  if (current && current.refresh_token) {
    await postForm("/v1/auth/revoke", { token: current.refresh_token }).catch(() => {});
  }
  endSession("");
}

function endSession(message) {
  clearSession();
  if (state.recorder) state.recorder.stop();
  resetCheck();
  $("who").hidden = true;
  $("check-view").hidden = true;
  $("login-view").hidden = false;
  showError("login-error", message);
  $("username").focus();
}

async function startSession() {
  const current = session();
  $("who-name").textContent = current.username;
  $("who").hidden = false;
  $("login-view").hidden = true;
  $("check-view").hidden = false;
  showError("check-error", "");
  await Promise.all([loadModels("audio", "audio-model"), loadModels("image", "image-model")])
    .catch((error) => showError("check-error", `Could not list the models: ${error.message}`));
}

async function loadModels(kind, selectId) {
  const { models } = await apiJson(`/v1/${kind}/models`);
  const select = $(selectId);
  select.replaceChildren(...models.map((m) =>
    el("option", { attrs: { value: m.name }, text: `${m.name} (${m.languages.join(", ")})` })));
  const preferred = models.find((m) => m.name === PREFERRED_MODELS[kind]);
  if (preferred) select.value = preferred.name;
  if (!models.length) throw new Error(`no ${kind} model is loaded`);
}

// ---- Photo and recording -----------------------------------------------------------

function choosePhoto() {
  const file = $("photo-input").files[0] || null;
  state.photo = file;
  const preview = $("photo-preview");
  if (file) {
    const url = URL.createObjectURL(file);
    state.urls.add(url);
    preview.src = url;
  }
  preview.hidden = !file;
  updateReady();
}

function chooseAudioFile() {
  const file = $("audio-input").files[0] || null;
  if (file) setRecording(file, file.name);
}

function setRecording(blob, name) {
  state.recording = blob ? { blob, name } : null;
  const preview = $("recording-preview");
  if (blob) {
    const url = URL.createObjectURL(blob);
    state.urls.add(url);
    preview.src = url;
    // What was recorded, for the curious (and the browser test).
    preview.dataset.type = blob.type;
    preview.dataset.bytes = String(blob.size);
  }
  preview.hidden = !blob;
  updateReady();
}

function updateReady() {
  $("check-button").disabled = !(state.photo && state.recording && !state.recorder);
}

async function toggleRecording() {
  if (state.recorder) {
    state.recorder.stop();
    return;
  }
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    showError("check-error", "This browser cannot record: choose a recording file instead.");
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false,
               autoGainControl: false },
    });
  } catch (error) {
    showError("check-error", `The microphone is not available (${error.message}).`);
    return;
  }
  const mimeType = RECORDING_TYPES.find((t) => MediaRecorder.isTypeSupported(t)) || "";
  const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
  const chunks = [];
  const started = performance.now();
  const tick = setInterval(() => {
    const seconds = (performance.now() - started) / 1000;
    $("record-time").textContent = clock(seconds);
    if (seconds >= MAX_RECORDING_S) recorder.stop();
  }, 250);
  recorder.addEventListener("dataavailable", (e) => { if (e.data.size) chunks.push(e.data); });
  recorder.addEventListener("stop", () => {
    clearInterval(tick);
    stream.getTracks().forEach((track) => track.stop());
    state.recorder = null;
    document.body.classList.remove("recording");
    $("record-label").textContent = "Record again";
    $("record-hint").textContent = "Listen to it below, or record again.";
    const type = recorder.mimeType || mimeType || "audio/webm";
    const extension = type.includes("ogg") ? "ogg" : type.includes("mp4") ? "m4a" : "webm";
    setRecording(new Blob(chunks, { type }), `recording.${extension}`);
  });
  state.recorder = recorder;
  setRecording(null);
  showError("check-error", "");
  document.body.classList.add("recording");
  $("record-label").textContent = "Stop";
  $("record-hint").textContent = "Recording: read the page aloud, then press Stop.";
  $("record-time").textContent = clock(0);
  recorder.start(1000);
  updateReady();
}

// ---- The check ---------------------------------------------------------------------

const STAGES = ["photo", "audio", "compare", "draw"];

function stage(name, fraction = 0) {
  const at = STAGES.indexOf(name);
  document.querySelectorAll("#progress li").forEach((li) => {
    const index = STAGES.indexOf(li.dataset.stage);
    li.className = index < at ? "done" : index === at ? "active" : "";
  });
  $("progress-bar").style.width = `${Math.round(((at + fraction) / STAGES.length) * 100)}%`;
}

async function upload(kind, blob, name) {
  const form = new FormData();
  form.append("upload_file", blob, name);
  const { file_id: fileId } = await apiJson(`/v1/${kind}/upload`, { method: "POST", body: form });
  return fileId;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Create the comparison with ``wait=true``: the result comes inline, or the task
 * is still running (``PENDING``) and its status is polled until it is ready. */
async function compare(audioFile, imageFile) {
  const body = JSON.stringify({
    audio_file: audioFile, image_file: imageFile,
    audio_model: $("audio-model").value, image_model: $("image-model").value,
  });
  const created = await apiJson("/v1/comparison/audio/image/task?wait=true", {
    method: "POST", headers: { "Content-Type": "application/json" }, body,
  });
  state.taskId = created.task_id;
  if (created.state === "SUCCESS") return created.result;
  if (created.state === "FAILURE") throw new Error(`The check failed: ${created.error}`);
  for (let delay = 500; ; delay = Math.min(delay * 1.5, 3000)) {
    const status = await apiJson(`/v1/task/status?task_id=${encodeURIComponent(created.task_id)}`);
    if (status.ready) {
      if (status.status === "failed") throw new Error(`The check failed: ${status.error}`);
      break;
    }
    await sleep(delay);
  }
  return apiJson(`/v1/comparison/audio/image/result?task_id=${encodeURIComponent(created.task_id)}`);
}

async function runCheck(event) {
  event.preventDefault();
  if (!state.photo || !state.recording) return;
  showError("check-error", "");
  $("check-form").hidden = true;
  $("result").hidden = true;
  $("progress").hidden = false;
  const started = performance.now();
  const timer = setInterval(() => {
    const seconds = (performance.now() - started) / 1000;
    $("elapsed").textContent = clock(seconds);
    if ($("progress").querySelector("li.active")?.dataset.stage === "compare") {
      stage("compare", 0.95 * (1 - Math.exp(-seconds / 20)));
    }
  }, 250);
  try {
    stage("photo");
    const imageFile = await upload("image", state.photo, state.photo.name || "page");
    stage("audio");
    const audioFile = await upload("audio", state.recording.blob, state.recording.name);
    stage("compare");
    state.result = await compare(audioFile, imageFile);
    stage("draw");
    await showResult();
    stage("draw", 1);
    $("progress").hidden = true;
    $("result").hidden = false;
    $("result").scrollIntoView({ block: "start" });
  } catch (error) {
    $("progress").hidden = true;
    $("check-form").hidden = false;
    if (session()) showError("check-error", error.message);
  } finally {
    clearInterval(timer);
  }
}

/** Draw the result with the errors at or above the chosen confidence: the summary,
 * the text with its marks, the annotated photo (filtered the same way by the API)
 * and the list of miscues. */
async function showResult() {
  const result = state.result;
  const minConfidence = Number($("min-confidence").value);
  const errors = keptErrors(result.errors || [], minConfidence);
  state.shown = errors;
  $("summary").replaceChildren(...summaryFigures(result.summary));
  const text = (result.image && result.image.text) || "";
  $("page-text").replaceChildren(markedText(text, errors));
  $("page-text").setAttribute("lang", result.language || "");
  $("page-text").setAttribute("dir", "auto");
  $("miscues").replaceChildren(...errors.map(miscueItem));
  $("no-miscues").hidden = errors.length > 0;
  const query = `task_id=${encodeURIComponent(state.taskId)}&min_confidence=${minConfidence}`;
  const image = $("annotated");
  const loaded = new Promise((resolve) => {
    image.addEventListener("load", resolve, { once: true });
    image.addEventListener("error", resolve, { once: true });
  });
  image.src = await objectUrl(`/v1/comparison/audio/image/annotated?${query}`);
  await loaded;
}

/** Play the cut of miscue ``index`` (fetched once with the token, then kept). */
async function playCut(index) {
  const error = state.shown && state.shown[index];
  const file = error && error.audio_segment && error.audio_segment.file;
  if (!file) return;
  const item = $("miscues").querySelector(`li[data-index="${index}"]`);
  let player = item.querySelector("audio");
  if (!player) {
    if (!state.cuts.has(file)) {
      state.cuts.set(file, await objectUrl(`/v1/audio/download?file=${encodeURIComponent(file)}`));
    }
    player = el("audio", { attrs: { controls: "", preload: "auto" } });
    player.src = state.cuts.get(file);
    item.append(player);
  }
  document.querySelectorAll("#miscues audio").forEach((a) => { if (a !== player) a.pause(); });
  player.currentTime = 0;
  await player.play().catch(() => {});
}

function onResultClick(event) {
  const target = event.target.closest("button[data-index]");
  if (!target) return;
  const index = Number(target.dataset.index);
  playCut(index).catch((error) => showError("check-error", error.message));
  const item = $("miscues").querySelector(`li[data-index="${index}"]`);
  if (item && target.closest("#page-text")) item.scrollIntoView({ block: "nearest" });
}

function resetCheck() {
  for (const url of state.urls) URL.revokeObjectURL(url);
  state.urls.clear();
  state.cuts.clear();
  Object.assign(state, { photo: null, recording: null, result: null, taskId: null, shown: [] });
  $("check-form").reset();
  $("photo-preview").hidden = true;
  $("recording-preview").hidden = true;
  $("record-label").textContent = "Record";
  $("record-hint").textContent = RECORD_HINT;
  $("record-time").textContent = clock(0);
  $("check-form").hidden = false;
  $("progress").hidden = true;
  $("result").hidden = true;
  $("annotated").removeAttribute("src");
  updateReady();
}

// ---- Wiring ------------------------------------------------------------------------

function withBusy(button, action, errorId) {
  button.disabled = true;
  return action()
    .catch((error) => showError(errorId, error.message))
    .finally(() => { button.disabled = false; });
}

document.addEventListener("DOMContentLoaded", () => {
  whenSessionEnds(() => endSession("Your session has ended: please log in again."));
  $("login-form").addEventListener("submit", logIn);
  $("register-button").addEventListener("click", register);
  $("logout").addEventListener("click", logOut);
  $("photo-input").addEventListener("change", choosePhoto);
  $("audio-input").addEventListener("change", chooseAudioFile);
  $("record-button").addEventListener("click", toggleRecording);
  $("check-form").addEventListener("submit", runCheck);
  $("page-text").addEventListener("click", onResultClick);
  $("miscues").addEventListener("click", onResultClick);
  $("again-button").addEventListener("click", () => { resetCheck(); window.scrollTo(0, 0); });
  $("min-confidence").addEventListener("change", () => {
    if (state.result) showResult().catch((error) => showError("check-error", error.message));
  });
  if (session()) {
    startSession();
  } else {
    $("login-view").hidden = false;
  }
});
