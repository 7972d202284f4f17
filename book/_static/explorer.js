/* The latent-space explorer: decoders exported to ONNX (vaelib/export.py), run in the page by
 * onnxruntime-web, so a reader of the static book can move through a VAE's latent space.
 *
 * Markup (a markdown cell of a chapter):  <div class="vae-explorer" data-model="mnist-2d">...</div>
 *   - a model with a 2-D latent space gets a pad: the pointer's position is decoded live, over a
 *     scatter of test-set codes;
 *   - a larger model gets sliders for its most informative dimensions (listed in its JSON).
 * The files come from the book's own _static folder (explorer/NAME.onnx and .json, ort/), built by
 * `make explorer`; nothing is fetched from elsewhere. The div's own content (a sentence for
 * notebook readers) stays when the script cannot run; if WebAssembly is missing or a file fails to
 * load, a short note replaces it and the page's static figures remain.
 *
 * For tests: window.vaeExplorer.decode(model, z) -> Promise<Float32Array>, and .explorers[i] with
 * .ready (a Promise), .getZ(), .setZ(z) -> Promise after drawing, .image (the decoded image's canvas).
 */
(function () {
  "use strict";

  const script = document.currentScript;
  const STATIC = script ? new URL(".", script.src).href : new URL("_static/", document.baseURI).href;
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]; // matplotlib's tab10
  const api = { explorers: [], decode: decode, staticRoot: STATIC, load: start };
  window.vaeExplorer = api;

  let ortPromise = null;
  const sessions = {};  // model name -> Promise<{session, meta, queue}>

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  function loadOrt() {
    if (!ortPromise) {
      ortPromise = new Promise((resolve, reject) => {
        if (typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function") {
          reject(new Error("this browser has no WebAssembly"));
          return;
        }
        const tag = el("script", { src: STATIC + "ort/ort.wasm.min.js" });
        tag.onload = () => {
          const ort = window.ort;
          if (!ort) { reject(new Error("onnxruntime-web did not load")); return; }
          ort.env.logLevel = "error";
          ort.env.wasm.numThreads = 1;   // a static host has no cross-origin isolation
          ort.env.wasm.proxy = false;
          ort.env.wasm.wasmPaths = STATIC + "ort/";
          resolve(ort);
        };
        tag.onerror = () => reject(new Error("could not load " + tag.src));
        document.head.append(tag);
      });
    }
    return ortPromise;
  }

  async function fetchJson(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }

  function loadModel(name) {
    if (!sessions[name]) {
      sessions[name] = (async () => {
        const ort = await loadOrt();
        const meta = await fetchJson(`${STATIC}explorer/${name}.json`);
        const session = await ort.InferenceSession.create(`${STATIC}explorer/${meta.model}`,
          { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
        return { ort, meta, session, queue: Promise.resolve() };
      })();
    }
    return sessions[name];
  }

  /* Decode one code z (an array of latent_dim numbers): the image (C*H*W floats in [0, 1]). */
  async function decode(name, z) {
    const model = await loadModel(name);
    const { ort, meta, session } = model;
    if (z.length !== meta.latent_dim) throw new Error(`expected ${meta.latent_dim} numbers, got ${z.length}`);
    const feeds = { [meta.input]: new ort.Tensor("float32", Float32Array.from(z), [1, meta.latent_dim]) };
    const run = model.queue.then(() => session.run(feeds));  // one run at a time per session
    model.queue = run.catch(() => undefined);
    const outputs = await run;
    return outputs[meta.output].data;
  }

  function drawImage(canvas, pixels, meta) {
    const { channels, height, width } = meta;
    const context = canvas.getContext("2d");
    const image = context.createImageData(width, height);
    const plane = height * width;
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) {
        const p = pixels[(channels === 3 ? c : 0) * plane + i];
        image.data[4 * i + c] = Math.round(255 * Math.min(1, Math.max(0, p)));
      }
      image.data[4 * i + 3] = 255;
    }
    context.putImageData(image, 0, 0);
  }

  function format(value) {
    return (value < 0 ? "\u2212" : "") + Math.abs(value).toFixed(2);
  }

  /* One explorer element: build its controls once its model has loaded. */
  class Explorer {
    constructor(element) {
      this.element = element;
      this.model = element.dataset.model;
      this.z = null;
      this.pendingZ = null;  // the newest code not yet decoded
      this.waiters = [];     // setZ promises that the next drawing settles
      this.busy = false;
      this.started = false;
      this.ready = new Promise((resolve, reject) => { this.resolveReady = resolve; this.rejectReady = reject; });
      this.ready.catch(() => undefined);
    }

    async start() {
      if (this.started) return this.ready;
      this.started = true;
      const began = performance.now();
      const status = el("p", { class: "vae-explorer__status", role: "status", text: "Loading the decoder\u2026" });
      this.element.replaceChildren(status);
      this.element.classList.add("vae-explorer--loading");
      try {
        const { meta } = await loadModel(this.model);
        this.meta = meta;
        this.build();
        const start = meta.bases.find(b => b.label === meta.start_label) || meta.bases[0];
        await this.setZ(start.code);  // the code of the first test image
        this.loadMs = performance.now() - began;
        this.element.classList.remove("vae-explorer--loading");
        this.element.classList.add("vae-explorer--ready");
        this.resolveReady(this);
      } catch (error) {
        this.fail(error);
      }
      return this.ready;
    }

    fail(error) {
      this.error = String(error && error.message || error);
      this.element.classList.remove("vae-explorer--loading", "vae-explorer--ready");
      this.element.classList.add("vae-explorer--failed");
      this.element.replaceChildren(el("p", { class: "vae-explorer__status", role: "status",
        text: `The live explorer cannot run in this browser (${this.error}); ` +
              "the figures on this page show the same decoder." }));
      this.rejectReady(error);
    }

    getZ() { return this.z.slice(); }

    /* Show code z; resolves once its image is drawn (or a newer code replaced it). */
    setZ(z) {
      this.z = Array.from(z, Number);
      this.pendingZ = this.z.slice();
      this.showZ();
      return new Promise((resolve, reject) => {
        this.waiters.push({ resolve, reject });
        this.pump();
      });
    }

    /* Decode the newest code, skipping those that a faster pointer has already replaced. */
    async pump() {
      if (this.busy) return;
      this.busy = true;
      try {
        while (this.pendingZ) {
          const z = this.pendingZ;
          this.pendingZ = null;
          const pixels = await decode(this.model, z);
          if (!this.pendingZ) {
            drawImage(this.image, pixels, this.meta);
            this.waiters.splice(0).forEach(w => w.resolve(pixels));
          }
        }
      } catch (error) {
        this.waiters.splice(0).forEach(w => w.reject(error));
      } finally {
        this.busy = false;
      }
    }

    build() {
      const meta = this.meta;
      this.image = el("canvas", { class: "vae-explorer__image", width: meta.width, height: meta.height,
                                  role: "img", "aria-label": "the decoded image" });
      this.caption = el("figcaption", { class: "vae-explorer__z" });
      const output = el("figure", { class: "vae-explorer__output" }, [this.image, this.caption]);
      if (meta.latent_dim === 2) this.buildPad(output);
      else this.buildSliders(output);
    }

    showZ() {
      if (this.meta.latent_dim === 2) {
        this.caption.textContent = `z = (${format(this.z[0])}, ${format(this.z[1])})`;
        this.drawPad();
      } else {
        for (const s of this.sliders) {
          s.input.value = String(this.z[s.index]);
          s.output.textContent = format(this.z[s.index]);
        }
      }
    }

    /* ------------------------------------------------------------ the 2-D pad */
    buildPad(output) {
      const meta = this.meta;
      this.pad = el("canvas", { class: "vae-explorer__pad", tabindex: "0",
        "aria-label": "latent space of the 2-D model: move the pointer, drag, or use the arrow keys" });
      const legend = el("ul", { class: "vae-explorer__legend", "aria-label": "digit classes" },
        meta.classes.map((name, k) => el("li", {}, [
          el("span", { class: "vae-explorer__swatch", style: `background:${PALETTE[k % 10]}` }), name])));
      const padBox = el("div", { class: "vae-explorer__padbox" }, [this.pad, legend]);
      this.caption.textContent = "";
      const note = el("p", { class: "vae-explorer__note", text:
        `Dots: the posterior means of ${meta.codes.length.toLocaleString("en")} test images, coloured by ` +
        "digit. Move the pointer over the square, or drag a finger: the image is the decoder's output " +
        "at that point, computed in this page." });
      this.element.replaceChildren(el("div", { class: "vae-explorer__row" }, [padBox, output]), note);

      const toZ = event => {
        const rect = this.pad.getBoundingClientRect();
        const e = meta.extent;
        const fx = (event.clientX - rect.left) / rect.width, fy = (event.clientY - rect.top) / rect.height;
        const clamp = v => Math.max(-e, Math.min(e, v));
        return [clamp(-e + 2 * e * fx), clamp(e - 2 * e * fy)];
      };
      let dragging = false;
      this.pad.addEventListener("pointerdown", event => {
        dragging = true;
        this.pad.setPointerCapture(event.pointerId);
        this.setZ(toZ(event)).catch(() => undefined);
        event.preventDefault();
      });
      this.pad.addEventListener("pointermove", event => {
        if (dragging || event.pointerType === "mouse") this.setZ(toZ(event)).catch(() => undefined);
      });
      const stop = () => { dragging = false; };
      this.pad.addEventListener("pointerup", stop);
      this.pad.addEventListener("pointercancel", stop);
      this.pad.addEventListener("keydown", event => {
        const step = event.shiftKey ? 0.5 : 0.1;
        const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
        const move = moves[event.key];
        if (!move) return;
        const e = meta.extent;
        this.setZ(this.z.map((v, i) => Math.max(-e, Math.min(e, v + move[i])))).catch(() => undefined);
        event.preventDefault();
      });
      new ResizeObserver(() => this.drawPad()).observe(this.pad);
      new MutationObserver(() => this.drawPad()).observe(document.documentElement,
        { attributes: true, attributeFilter: ["data-theme", "data-mode"] });
    }

    drawPad() {
      if (!this.pad || !this.z) return;
      const meta = this.meta;
      const ratio = window.devicePixelRatio || 1;
      const size = Math.round(this.pad.clientWidth * ratio);
      if (!size) return;
      if (this.pad.width !== size) { this.pad.width = size; this.pad.height = size; }
      const c = this.pad.getContext("2d");
      const style = getComputedStyle(this.pad);
      const colour = name => style.getPropertyValue(name).trim();
      const e = meta.extent;
      const px = x => (x + e) / (2 * e) * size, py = y => (e - y) / (2 * e) * size;
      c.clearRect(0, 0, size, size);
      c.fillStyle = colour("--vae-pad-background");
      c.fillRect(0, 0, size, size);
      // grid lines at the integers, axes through the origin
      c.lineWidth = ratio;
      for (let v = Math.ceil(-e); v <= e; v++) {
        c.strokeStyle = v === 0 ? colour("--vae-pad-axis") : colour("--vae-pad-grid");
        c.beginPath(); c.moveTo(px(v), 0); c.lineTo(px(v), size); c.stroke();
        c.beginPath(); c.moveTo(0, py(v)); c.lineTo(size, py(v)); c.stroke();
      }
      // the test codes
      const radius = Math.max(1.2, size / 220);
      c.globalAlpha = 0.75;
      meta.codes.forEach(([x, y], i) => {
        c.fillStyle = PALETTE[meta.labels[i] % 10];
        c.beginPath(); c.arc(px(x), py(y), radius, 0, 2 * Math.PI); c.fill();
      });
      c.globalAlpha = 1;
      // tick labels and axis names
      c.fillStyle = colour("--vae-pad-text");
      c.font = `${11 * ratio}px system-ui, sans-serif`;
      c.textBaseline = "bottom";
      for (let v = Math.ceil(-e); v <= e; v += 2) {
        if (v !== 0 && Math.abs(v) < e) {
          c.textAlign = "center"; c.fillText(String(v), px(v), size - 3 * ratio);
          c.textAlign = "left"; c.fillText(String(v), 3 * ratio, py(v) - 2 * ratio);
        }
      }
      c.textAlign = "right"; c.fillText("z\u2081", size - 4 * ratio, py(0) - 3 * ratio);
      c.textAlign = "left"; c.textBaseline = "top"; c.fillText("z\u2082", px(0) + 4 * ratio, 3 * ratio);
      // the current code
      const [x, y] = [px(this.z[0]), py(this.z[1])];
      c.lineWidth = 2 * ratio;
      c.strokeStyle = colour("--vae-pad-marker-halo");
      c.beginPath(); c.arc(x, y, 7 * ratio, 0, 2 * Math.PI); c.stroke();
      c.lineWidth = 1.5 * ratio;
      c.strokeStyle = colour("--vae-pad-marker");
      c.beginPath(); c.arc(x, y, 7 * ratio, 0, 2 * Math.PI);
      c.moveTo(x - 11 * ratio, y); c.lineTo(x - 3 * ratio, y); c.moveTo(x + 3 * ratio, y); c.lineTo(x + 11 * ratio, y);
      c.moveTo(x, y - 11 * ratio); c.lineTo(x, y - 3 * ratio); c.moveTo(x, y + 3 * ratio); c.lineTo(x, y + 11 * ratio);
      c.stroke();
    }

    /* ------------------------------------------------------------ sliders */
    buildSliders(output) {
      const meta = this.meta;
      this.sliders = meta.dims.map(dim => {
        const id = `vae-${this.model}-z${dim.index}-${Math.random().toString(36).slice(2, 7)}`;
        const input = el("input", { type: "range", id, min: dim.range[0], max: dim.range[1], step: "0.05" });
        const out = el("output", { for: id });
        input.addEventListener("input", () => {
          const z = this.z.slice();
          z[dim.index] = Number(input.value);
          this.setZ(z).catch(() => undefined);
        });
        // a named dimension's label ("z3 x", "z7 rotation") needs a wider first column
        const named = meta.dims.some(d => d.factor);
        const row = el("div", named ? { class: "vae-explorer__slider",
                                        style: "grid-template-columns: 6.6rem minmax(0, 1fr) 3.2rem" }
                                    : { class: "vae-explorer__slider" },
          [el("label", { for: id, text: dim.factor ? `z${dim.index} ${dim.factor}` : `z${dim.index}`,
                         title: !dim.factor ? "" : dim.factor === "mixed"
                           ? `no factor has a share above 0.2 in z${dim.index} (largest: ${dim.share})`
                           : `z${dim.index} holds ${dim.share} of the entropy of ${dim.factor}, ` +
                             "its largest share of any factor" }),
           input, out]);
        return { index: dim.index, input, output: out, row };
      });
      this.caption.textContent = "decoded image";
      const bases = el("div", { class: "vae-explorer__bases" }, [
        el("span", { text: "Start from the code of a test image:" }),
        ...meta.bases.map(b => {
          const name = meta.classes[b.label] ?? String(b.label);
          const button = el("button", { type: "button", text: name,
                                        title: `the posterior mean of a test image of a ${name}` });
          button.addEventListener("click", () => this.setZ(b.code).catch(() => undefined));
          return button;
        }),
        (() => {
          const button = el("button", { type: "button", text: "z = 0", title: "the prior's mean" });
          button.addEventListener("click", () => this.setZ(new Array(meta.latent_dim).fill(0)).catch(() => undefined));
          return button;
        })(),
      ]);
      const others = meta.latent_dim - meta.dims.length;
      const note = el("p", { class: "vae-explorer__note", text:
        `The sliders set the ${meta.dims.length} dimensions with the largest average KL on test images; ` +
        (meta.dims.some(d => d.factor) ? "each is named after the factor it holds the largest share of " +
          "(\"mixed\": no share above 0.2); " : "") +
        `the other ${others} stay at the starting code. The image is computed in this page.` });
      this.element.replaceChildren(
        el("div", { class: "vae-explorer__row" }, [output,
          el("div", { class: "vae-explorer__sliders" }, this.sliders.map(s => s.row))]),
        bases, note);
    }
  }

  function start(element) {
    const explorer = api.explorers.find(x => x.element === element);
    return explorer ? explorer.start() : Promise.reject(new Error("not an explorer element"));
  }

  function init() {
    const elements = document.querySelectorAll(".vae-explorer[data-model]");
    if (!elements.length) return;
    for (const element of elements) api.explorers.push(new Explorer(element));
    api.ready = Promise.allSettled(api.explorers.map(x => x.ready));
    // Load a model only when its explorer comes near the screen: the runtime is a large download.
    if (!("IntersectionObserver" in window)) { api.explorers.forEach(x => x.start()); return; }
    const observer = new IntersectionObserver(entries => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        observer.unobserve(entry.target);
        start(entry.target);
      }
    }, { rootMargin: "800px 0px" });
    elements.forEach(element => observer.observe(element));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
