// The jobs view: the account's videos newest first, a page at a time ("Load more" over the keyset
// paged list), each followed live through its event stream (polling when the stream fails). Media
// need the key, so they are fetched and shown from blob: URLs, revoked when the card goes.

const $ = (selector, root = document) => root.querySelector(selector);
const FINISHED = new Set(["completed", "failed"]);
const STREAMS = 2; // event streams open at once (see Card.follow)
const TILE_WIDTH = 256; // media/spritesheet.py: up to 25 frames, 5 per row, 256 px wide tiles

export class Jobs {
  constructor(actions) {
    this.api = null; // set on sign-in
    this.actions = actions; // {again(video), start(blob)}
    this.cards = new Map(); // id -> Card
    this.after = null;
    this.streaming = 0; // event streams open now
    this.streamless = false; // set when a stream failed: cards poll instead
    this.list = $("#jobs");
    this.more = $("#load-more");
    this.more.addEventListener("click", () => this.load());
    this.visible = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (entry.isIntersecting) this.cards.get(entry.target.dataset.id)?.poster();
      }
    });
  }

  async load() {
    this.more.disabled = true;
    try {
      const page = await this.api.videos(this.after);
      for (const video of page.data) if (!this.cards.has(video.id)) this.add(video, false);
      this.after = page.last_id;
      this.more.hidden = !page.has_more;
    } finally {
      this.more.disabled = false;
      $("#jobs-empty").hidden = this.cards.size > 0;
    }
  }

  add(video, first = true) {
    const card = new Card(this, video);
    this.cards.set(video.id, card);
    if (first) this.list.prepend(card.element);
    else this.list.append(card.element);
    this.visible.observe(card.element);
    $("#jobs-empty").hidden = true;
    card.follow();
  }

  drop(card) {
    this.visible.unobserve(card.element);
    card.close();
    card.element.remove();
    this.cards.delete(card.video.id);
    $("#jobs-empty").hidden = this.cards.size > 0;
  }

  close() {
    for (const card of [...this.cards.values()]) this.drop(card);
    this.after = null;
    this.more.hidden = true;
  }
}

class Card {
  constructor(jobs, video) {
    this.jobs = jobs;
    this.api = jobs.api;
    this.video = video;
    this.urls = {}; // variant -> blob: URL
    this.blobs = {}; // variant -> Blob
    this.loading = {}; // variant -> Promise<Blob>
    this.stop = new AbortController();
    this.element = $("#job-template").content.firstElementChild.cloneNode(true);
    this.element.dataset.id = video.id;
    const bar = $(".bar", this.element);
    bar.setAttribute("aria-label", `Progress of ${video.id}`);
    $(".prompt", this.element).textContent = video.prompt;
    $(".settings", this.element).textContent = settingsOf(video);
    for (const button of this.element.querySelectorAll("[data-action]")) {
      button.addEventListener("click", () => this.act(button.dataset.action, button));
    }
    const poster = $(".poster", this.element);
    poster.style.aspectRatio = video.aspect_ratio.replace(":", " / ");
    poster.addEventListener("pointerenter", () => this.scrubStart());
    poster.addEventListener("pointermove", (event) => this.scrub(event));
    poster.addEventListener("pointerleave", () => ($(".scrub", this.element).hidden = true));
    this.show(video);
  }

  show(video, eta = null) {
    this.video = { ...this.video, ...video };
    const { status, progress } = this.video;
    const canceled = this.video.error?.code === "canceled";
    this.element.dataset.status = status;
    $(".word", this.element).textContent = canceled ? "canceled" : status.replace("_", " ");
    $(".eta", this.element).textContent =
      eta !== null && !FINISHED.has(status) ? `about ${Math.ceil(eta)} s left` : "";
    const bar = $(".bar", this.element);
    bar.setAttribute("aria-valuenow", String(progress));
    bar.firstElementChild.style.width = `${progress}%`;
    bar.hidden = FINISHED.has(status);
    const error = $(".job-error", this.element);
    error.hidden = !this.video.error || canceled;
    error.textContent = this.video.error && !canceled ? this.video.error.message : "";
    const done = status === "completed";
    this.button("play").hidden = !done;
    this.button("download").hidden = !done;
    this.button("start").hidden = !done;
    this.button("cancel").hidden = FINISHED.has(status);
    this.button("delete").hidden = !FINISHED.has(status);
    if (done && this.element.isConnected) this.poster();
  }

  button(action) {
    return $(`[data-action="${action}"]`, this.element);
  }

  // Live progress: the event stream while one of the page's few stream slots is free, else (or
  // when streams fail) polling GET every openai-poll-after-ms. A browser opens 6 connections to a
  // host, and every open stream holds one: a page of unfinished jobs must not starve the rest.
  async follow() {
    const signal = this.stop.signal;
    while (!signal.aborted && !FINISHED.has(this.video.status)) {
      if (this.jobs.streaming < STREAMS && !this.jobs.streamless) {
        this.jobs.streaming += 1;
        try {
          await this.api.events(this.video.id, (name, data) => this.show(data, data.eta_seconds), signal);
        } catch (error) {
          if (signal.aborted || error.status === 404) return;
          this.jobs.streamless = true; // this server has no stream (or it fails): poll from now on
        } finally {
          this.jobs.streaming -= 1;
        }
        if (FINISHED.has(this.video.status)) return;
      }
      await sleep(this.api.pollAfterMs, signal);
      if (signal.aborted) return;
      try {
        this.show(await this.api.video(this.video.id));
      } catch (error) {
        if (error.status === 404) return this.jobs.drop(this);
      }
    }
  }

  async media(variant) {
    if (!this.loading[variant]) {
      this.loading[variant] = this.api.content(this.video.id, variant).then((blob) => {
        this.blobs[variant] = blob;
        this.urls[variant] = URL.createObjectURL(blob);
        return blob;
      });
      this.loading[variant].catch(() => delete this.loading[variant]);
    }
    await this.loading[variant];
    return this.urls[variant];
  }

  async poster() {
    if (this.video.status !== "completed" || this.loading.thumbnail) return;
    const img = $(".poster img", this.element);
    img.alt = `First frame of: ${this.video.prompt}`;
    img.src = await this.media("thumbnail");
    img.hidden = false;
  }

  // Hover-scrub: the spritesheet (fetched on first hover) shows the tile under the pointer's x.
  async scrubStart() {
    if (this.video.status !== "completed") return;
    const url = await this.media("spritesheet");
    if (!this.sheet) {
      const image = new Image();
      image.src = url;
      await image.decode();
      const [width, height] = this.video.size.split("x").map(Number);
      const tileHeight = Math.max(2, Math.round((TILE_WIDTH * height) / width / 2) * 2);
      this.sheet = {
        columns: Math.round(image.naturalWidth / TILE_WIDTH),
        rows: Math.round(image.naturalHeight / tileHeight),
      };
      const scrub = $(".scrub", this.element);
      scrub.style.backgroundImage = `url("${url}")`;
      scrub.style.backgroundSize = `${this.sheet.columns * 100}% ${this.sheet.rows * 100}%`;
    }
  }

  scrub(event) {
    if (!this.sheet) return;
    const { columns, rows } = this.sheet;
    const box = event.currentTarget.getBoundingClientRect();
    const fraction = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 0.9999);
    const tile = Math.floor(fraction * columns * rows);
    const x = columns > 1 ? ((tile % columns) / (columns - 1)) * 100 : 0;
    const y = rows > 1 ? (Math.floor(tile / columns) / (rows - 1)) * 100 : 0;
    const scrub = $(".scrub", this.element);
    scrub.style.backgroundPosition = `${x}% ${y}%`;
    scrub.hidden = false;
  }

  async act(action, button) {
    button.disabled = true;
    try {
      if (action === "play") await this.play();
      else if (action === "download") await this.download();
      else if (action === "cancel") this.show(await this.api.cancel(this.video.id));
      else if (action === "delete") {
        await this.api.remove(this.video.id);
        this.jobs.drop(this);
      } else if (action === "again") this.jobs.actions.again(this.video);
      else if (action === "start") {
        await this.media("thumbnail");
        this.jobs.actions.start(this.blobs.thumbnail, `${this.video.id}-poster.jpg`);
      }
    } catch (error) {
      const note = $(".job-error", this.element);
      note.textContent = error.message;
      note.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  // Inline playback: the poster gives way to a <video controls> on the MP4's blob: URL.
  async play() {
    const url = await this.media("video");
    let player = $("video", this.element);
    if (!player) {
      player = document.createElement("video");
      player.controls = true;
      player.playsInline = true;
      player.preload = "auto";
      if (this.urls.thumbnail) player.poster = this.urls.thumbnail;
      player.src = url;
      player.setAttribute("aria-label", `Video: ${this.video.prompt}`);
      $(".poster", this.element).replaceWith(player);
      player.style.aspectRatio = this.video.aspect_ratio.replace(":", " / ");
      this.button("play").hidden = true;
    }
    player.focus();
    await player.play().catch(() => {}); // a browser may refuse autoplay with sound; controls remain
  }

  async download() {
    const url = await this.media("video");
    const link = document.createElement("a");
    link.href = url;
    link.download = `${this.video.id}.mp4`;
    link.hidden = true;
    this.element.append(link);
    link.click();
    link.remove();
  }

  close() {
    this.stop.abort();
    for (const url of Object.values(this.urls)) URL.revokeObjectURL(url);
    this.urls = {};
  }
}

function settingsOf(video) {
  const parts = [video.model, `${video.seconds} s`, video.resolution, video.aspect_ratio];
  parts.push(video.generate_audio ? "audio" : "silent", `seed ${video.seed}`);
  if (video.has_input_reference) parts.push(video.has_last_frame ? "start + end frame" : "start frame");
  if (video.negative_prompt) parts.push(`not: ${video.negative_prompt}`);
  return parts.join(" · ");
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });
}
