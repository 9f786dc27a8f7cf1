// The create form: the catalog's models drive what it offers (durations, resolutions, aspect
// ratios, audio, frames, samples) and the price shown before submitting; "Generate" posts one
// multipart create per sample; the server's refusal is shown next to the field it names.

const $ = (selector, root = document) => root.querySelector(selector);

// "1280x720" -> {tier: "720p", aspect: "16:9"}
export function sizeOf(size) {
  const [width, height] = size.split("x").map(Number);
  return { tier: `${Math.min(width, height)}p`, aspect: height > width ? "9:16" : "16:9" };
}

export function priceOf(model, seconds, resolution, audio, samples) {
  const table = (model.price_per_second || {})[audio ? "audio" : "silent"] || {};
  const perSecond = table[resolution];
  return perSecond === undefined ? null : perSecond * seconds * samples;
}

export class CreateForm {
  constructor(onCreated) {
    this.api = null; // set on sign-in
    this.onCreated = onCreated;
    this.models = [];
    this.frames = { start: null, end: null };
    this.previews = { start: null, end: null };
    this.form = $("#create-form");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    $("#model").addEventListener("change", () => this.offer());
    for (const id of ["#duration", "#resolution", "#aspect-ratio", "#audio", "#samples"]) {
      $(id).addEventListener("change", () => this.refresh());
      $(id).addEventListener("input", () => this.refresh());
    }
    for (const which of ["start", "end"]) this.wireFrame(which);
  }

  // Models listed once: an id that is an alias of another listed model is skipped.
  setModels(list) {
    const aliases = new Set(list.flatMap((model) => model.aliases || []));
    this.models = list.filter((model) => !aliases.has(model.id));
    const select = $("#model");
    select.replaceChildren(
      ...this.models.map((model) => {
        const option = new Option(model.id, model.id);
        if (model.available === false) {
          option.disabled = true;
          option.textContent = `${model.id} (unavailable${model.unavailable_reason ? `: ${model.unavailable_reason}` : ""})`;
        }
        return option;
      }),
    );
    const usable = this.models.find((model) => model.available !== false);
    if (usable) select.value = usable.id;
    this.offer();
  }

  model() {
    return this.models.find((model) => model.id === $("#model").value) || null;
  }

  // The form's options from the chosen model, keeping the current choices where it still offers them.
  offer() {
    const model = this.model();
    if (!model) return;
    const sizes = (model.sizes || []).map(sizeOf);
    fill($("#duration"), model.durations.map((s) => [String(s), `${s} s`]), String(model.default_duration));
    const preferred = sizeOf(model.default_size || model.sizes[0]); // the API's default: 720x1280 where it renders
    fill($("#resolution"), unique(sizes.map((s) => s.tier)).map((t) => [t, t]), preferred.tier);
    fill($("#aspect-ratio"), unique(sizes.map((s) => s.aspect)).map((a) => [a, a]), preferred.aspect);
    const audio = $("#audio");
    audio.disabled = !model.audio;
    if (!model.audio) audio.checked = false;
    const samples = $("#samples");
    samples.max = String(model.max_samples || 1);
    if (Number(samples.value) > (model.max_samples || 1)) samples.value = String(model.max_samples || 1);
    this.showSlot("start", model.start_frame);
    this.showSlot("end", model.end_frame);
    this.refresh();
  }

  showSlot(which, offered) {
    $(`#${which}-slot`).hidden = !offered;
    if (!offered) this.setFrame(which, null);
  }

  refresh() {
    const model = this.model();
    if (!model) return;
    const aspect = $("#aspect-ratio").value.replace(":", " / ");
    for (const crop of this.form.querySelectorAll(".crop")) crop.style.aspectRatio = aspect;
    const price = priceOf(
      model,
      Number($("#duration").value),
      $("#resolution").value,
      $("#audio").checked,
      this.samples(),
    );
    $("#price").value = price === null ? "not listed" : `$${price.toFixed(2)}`;
  }

  samples() {
    const max = this.model()?.max_samples || 1;
    const value = Math.trunc(Number($("#samples").value)) || 1;
    return Math.min(Math.max(value, 1), max);
  }

  wireFrame(which) {
    const input = $(`#${which}-frame`);
    const drop = $(`.drop[data-frame="${which}"]`);
    input.addEventListener("change", () => this.setFrame(which, input.files[0] || null));
    drop.addEventListener("dragover", (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      drop.classList.remove("over");
      const file = [...event.dataTransfer.files].find((f) => f.type.startsWith("image/"));
      if (file) this.setFrame(which, file);
    });
    $(`[data-clear="${which}"]`).addEventListener("click", () => this.setFrame(which, null));
  }

  // A frame for the next create, previewed in a box of the chosen aspect (the server centre-crops).
  setFrame(which, file) {
    this.frames[which] = file;
    if (this.previews[which]) URL.revokeObjectURL(this.previews[which]);
    this.previews[which] = file ? URL.createObjectURL(file) : null;
    const slot = $(`#${which}-slot`);
    const img = $(".crop img", slot);
    img.hidden = !file;
    if (file) img.src = this.previews[which];
    else img.removeAttribute("src");
    $(".hint", slot).textContent = file ? file.name : "Drop an image here or choose a file";
    $(`[data-clear="${which}"]`, slot).hidden = !file;
    if (!file) $(`#${which}-frame`).value = "";
  }

  // Fill the form from a video object ("Same settings again").
  fillFrom(video) {
    const model = this.models.find((m) => m.id === video.model || (m.aliases || []).includes(video.model));
    if (model) $("#model").value = model.id;
    this.offer();
    $("#prompt").value = video.prompt;
    $("#negative-prompt").value = video.negative_prompt || "";
    $("#duration").value = video.seconds;
    $("#resolution").value = video.resolution;
    $("#aspect-ratio").value = video.aspect_ratio;
    $("#audio").checked = Boolean(video.generate_audio) && !$("#audio").disabled;
    $("#seed").value = video.seed ?? "";
    $("#samples").value = "1";
    this.refresh();
    $("#prompt").focus();
  }

  reset() {
    this.form.reset();
    this.setFrame("start", null);
    this.setFrame("end", null);
    this.clearErrors();
  }

  clearErrors() {
    $("#form-error").textContent = "";
    for (const field of this.form.querySelectorAll(".field")) {
      field.querySelector(".field-error")?.remove();
      field.querySelector("[aria-invalid]")?.removeAttribute("aria-invalid");
    }
  }

  // The server's message next to the field it names, or above the button when it names none.
  showError(error) {
    const field = error.param && this.form.querySelector(`.field[data-param="${error.param}"]`);
    if (field && !field.hidden && !field.closest("[hidden]")) {
      const note = document.createElement("p");
      note.className = "error field-error";
      note.id = `error-${error.param}`;
      note.setAttribute("role", "alert");
      note.textContent = error.message;
      field.append(note);
      const control = field.querySelector("input, select, textarea");
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-describedby", note.id);
      control.focus();
    } else {
      $("#form-error").textContent = error.message;
    }
  }

  body(seed) {
    const body = new FormData();
    body.set("prompt", $("#prompt").value);
    const negative = $("#negative-prompt").value;
    if (negative.trim()) body.set("negative_prompt", negative);
    body.set("model", $("#model").value);
    body.set("seconds", $("#duration").value);
    body.set("resolution", $("#resolution").value);
    body.set("aspect_ratio", $("#aspect-ratio").value);
    body.set("generate_audio", $("#audio").checked ? "true" : "false");
    if (seed !== null) body.set("seed", String(seed));
    if (this.frames.start) body.set("input_reference", this.frames.start, this.frames.start.name);
    if (this.frames.end) body.set("last_frame", this.frames.end, this.frames.end.name);
    return body;
  }

  async submit() {
    this.clearErrors();
    const button = $("#generate");
    const seedText = $("#seed").value.trim();
    const seed = seedText === "" ? null : Number(seedText);
    button.disabled = true;
    try {
      for (let i = 0; i < this.samples(); i += 1) {
        const video = await this.api.create(this.body(seed === null ? null : seed + i));
        this.onCreated(video);
      }
    } catch (error) {
      this.showError(error);
    } finally {
      button.disabled = false;
    }
  }
}

function unique(values) {
  return [...new Set(values)];
}

function fill(select, entries, preferred) {
  const current = select.value;
  select.replaceChildren(...entries.map(([value, text]) => new Option(text, value)));
  const values = entries.map(([value]) => value);
  if (values.includes(current)) select.value = current;
  else if (preferred !== undefined && values.includes(preferred)) select.value = preferred;
}
