// The latent explorer of the VAE chapters: the book's own decoder and encoder, exported
// to ONNX (tools/export_explorer.py), run in the reader's browser by onnxruntime-web.
// Every <div class="latent-explorer" data-model="..."> on a page becomes one explorer.
// The page needs no network: the model files and the runtime are served with the site.
(function () {
  "use strict";

  const STATIC = new URL(".", document.currentScript.src).href; // .../_static/
  const CLASS_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]; // matplotlib's tab10
  const PATH_STEPS = 10;
  const KEY_STEP = 4; // pixels of the plane per arrow key press
  const TIMING_DECODES = 30;

  let runtime = null; // one onnxruntime-web for all explorers of the page

  function loadRuntime() {
    if (!runtime) {
      runtime = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = STATIC + "ort/ort.wasm.min.js";
        script.onload = () => {
          ort.env.wasm.wasmPaths = STATIC + "ort/";
          ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which a plain server lacks
          resolve(ort);
        };
        script.onerror = () => reject(new Error("the ONNX runtime (_static/ort/ort.wasm.min.js) is missing from this build"));
        document.head.appendChild(script);
      });
    }
    return runtime;
  }

  async function fetchJson(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url.split("/").slice(-2).join("/")}: HTTP ${response.status}`);
    return response.json();
  }

  function element(tag, attributes, parent, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    if (text) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  class Explorer {
    constructor(root) {
      this.root = root;
      this.model = root.dataset.model;
      this.folder = STATIC + "explorer/" + this.model + "/";
      this.endpoints = [];
      this.build();
    }

    build() {
      const root = this.root;
      root.textContent = "";
      this.status = element("p", { class: "explorer-status", role: "status" }, root, "Loading the model…");
      const row = element("div", { class: "explorer-row" }, root);
      const planeBox = element("div", { class: "explorer-plane-box" }, row);
      this.plane = element("canvas", {
        class: "explorer-plane", tabindex: "0", role: "img",
        "aria-label": "The latent plane, the test images at their codes coloured by class. Move the pointer over it, or focus it and use the arrow keys, to decode a point; click two points, or press Enter at two points, to decode the path between them.",
      }, planeBox);
      this.legend = element("div", { class: "explorer-legend" }, planeBox);
      const side = element("div", { class: "explorer-side" }, row);
      element("p", { class: "explorer-caption" }, side, "Decoded image");
      this.image = element("canvas", { class: "explorer-image", width: "168", height: "168", role: "img",
                                        "aria-label": "The decoded image" }, side);
      this.decoded = element("canvas", { class: "explorer-decoded", width: "28", height: "28", hidden: "" }, side);
      this.coords = element("p", { class: "explorer-coords" }, side, "z = (–, –)");
      element("p", { class: "explorer-caption" }, side, "Draw a garment (white on black)");
      this.pad = element("canvas", { class: "explorer-pad", width: "140", height: "140", role: "img",
                                      "aria-label": "Drawing pad, 28 by 28 pixels, white on black" }, side);
      const buttons = element("div", { class: "explorer-buttons" }, side);
      this.encodeButton = element("button", { type: "button", class: "explorer-encode" }, buttons, "Place it on the plane");
      this.clearButton = element("button", { type: "button", class: "explorer-clear" }, buttons, "Clear");
      element("p", { class: "explorer-caption" }, root, "The straight path between the last two points you clicked:");
      this.path = element("canvas", { class: "explorer-path", width: String(PATH_STEPS * 56), height: "56", role: "img",
                                       "aria-label": "Images decoded along the path between two points" }, root);
      this.timing = element("p", { class: "explorer-timing" }, root);
    }

    say(message, isError) {
      this.status.textContent = message;
      this.status.classList.toggle("explorer-error", Boolean(isError));
    }

    async start() {
      const started = performance.now();
      try {
        const [runtimeModule, plane] = await Promise.all([loadRuntime(), fetchJson(this.folder + "plane.json")]);
        this.data = plane;
        const options = { executionProviders: ["wasm"] };
        [this.decoder, this.encoder] = await Promise.all([
          runtimeModule.InferenceSession.create(this.folder + "decoder.onnx", options),
          runtimeModule.InferenceSession.create(this.folder + "encoder.onnx", options),
        ]);
      } catch (error) {
        this.root.dataset.state = "error";
        this.say(`The explorer could not load its model: ${error.message}. The figures of this chapter show the same plane.`, true);
        return;
      }
      this.loadMs = performance.now() - started;
      this.size = this.data.pixels;
      this.plane.width = this.plane.height = this.size;
      this.drawPlane();
      this.drawLegend();
      try {
        await this.measure();
        await this.show([this.size / 2, this.size / 2]);
      } catch (error) {
        this.root.dataset.state = "error";
        this.say(`The explorer's model does not run in this browser: ${error.message || error}. The figures of this chapter show the same plane.`, true);
        return;
      }
      this.connect();
      this.root.dataset.state = "ready";
      this.say("Move the pointer over the plane (or focus it and use the arrow keys) to decode a point; click two points to see the path between them.");
    }

    code(pixel) {
      const [x0, x1, y0, y1] = this.data.extent;
      return [x0 + (pixel[0] + 0.5) / this.size * (x1 - x0), y1 - (pixel[1] + 0.5) / this.size * (y1 - y0)];
    }

    pixelOf(code) {
      const [x0, x1, y0, y1] = this.data.extent;
      return [(code[0] - x0) / (x1 - x0) * this.size - 0.5, (y1 - code[1]) / (y1 - y0) * this.size - 0.5];
    }

    drawPlane() {
      const context = this.plane.getContext("2d");
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, this.size, this.size);
      const { codes, labels } = this.data;
      for (let i = 0; i < codes.length; i++) {
        const [px, py] = this.pixelOf(codes[i]);
        context.fillStyle = CLASS_COLOURS[labels[i]];
        context.fillRect(px - 0.75, py - 0.75, 1.5, 1.5);
      }
      this.background = context.getImageData(0, 0, this.size, this.size);
    }

    drawLegend() {
      this.data.class_names.forEach((name, label) => {
        const item = element("span", { class: "explorer-legend-item" }, this.legend);
        element("span", { class: "explorer-swatch", style: `background:${CLASS_COLOURS[label]}` }, item);
        item.appendChild(document.createTextNode(name));
      });
    }

    drawMarkers() {
      const context = this.plane.getContext("2d");
      context.putImageData(this.background, 0, 0);
      const mark = (pixel, colour, radius) => {
        context.strokeStyle = colour;
        context.lineWidth = 2;
        context.beginPath();
        context.arc(pixel[0] + 0.5, pixel[1] + 0.5, radius, 0, 2 * Math.PI);
        context.stroke();
      };
      if (this.endpoints.length === 2) {
        context.strokeStyle = "#000000";
        context.beginPath();
        context.moveTo(this.endpoints[0][0] + 0.5, this.endpoints[0][1] + 0.5);
        context.lineTo(this.endpoints[1][0] + 0.5, this.endpoints[1][1] + 0.5);
        context.stroke();
      }
      this.endpoints.forEach((pixel) => mark(pixel, "#000000", 4));
      if (this.pixel) mark(this.pixel, "#000000", 7);
    }

    async decode(codes) {
      const input = new ort.Tensor("float32", Float32Array.from(codes.flat()), [codes.length, 2]);
      const result = await this.decoder.run({ [this.decoder.inputNames[0]]: input });
      return result[this.decoder.outputNames[0]].data; // codes.length x 784 pixel means
    }

    async encode(pixels) {
      const shape = this.encoderShape();
      const input = new ort.Tensor("float32", pixels, shape);
      const result = await this.encoder.run({ [this.encoder.inputNames[0]]: input });
      return Array.from(result[this.encoder.outputNames[0]].data); // the mean code
    }

    encoderShape() {
      return [1, ...this.data.encoder_input]; // 784 pixels (MLP) or 28 x 28 x 1 (convolutional)
    }

    paint(pixels, offset) {
      const small = document.createElement("canvas");
      small.width = small.height = 28;
      const context = small.getContext("2d");
      const image = context.createImageData(28, 28);
      for (let i = 0; i < 784; i++) {
        const grey = Math.round(Math.min(1, Math.max(0, pixels[offset + i])) * 255);
        image.data.set([grey, grey, grey, 255], 4 * i);
      }
      context.putImageData(image, 0, 0);
      return small;
    }

    // onnxruntime-web runs one inference of a session at a time: pointer moves that arrive
    // while a decode runs wait, and only the latest of them is decoded.
    show(pixel) {
      this.pending = pixel;
      if (!this.showing) {
        this.showing = (async () => {
          try {
            while (this.pending) {
              const next = this.pending;
              this.pending = null;
              await this.decodeAndDraw(next);
            }
          } catch (error) {
            this.say(`Decoding failed: ${error.message || error}.`, true);
          } finally {
            this.showing = null;
          }
        })();
      }
      return this.showing;
    }

    async decodeAndDraw(pixel) {
      this.pixel = pixel;
      const code = this.code(pixel);
      const pixels = await this.decode([code]);
      const small = this.paint(pixels, 0);
      this.decoded.getContext("2d").drawImage(small, 0, 0);
      const big = this.image.getContext("2d");
      big.imageSmoothingEnabled = false;
      big.drawImage(small, 0, 0, this.image.width, this.image.height);
      this.coords.textContent = `z = (${code[0].toFixed(2)}, ${code[1].toFixed(2)})`;
      this.image.setAttribute("aria-label", `The image decoded at z = (${code[0].toFixed(2)}, ${code[1].toFixed(2)})`);
      this.root.dataset.pixel = pixel.join(",");
      this.root.dataset.code = code.map((v) => v.toFixed(6)).join(",");
      this.drawMarkers();
    }

    async playPath() {
      await this.showing; // one inference at a time
      const [a, b] = this.endpoints.map((pixel) => this.code(pixel));
      const codes = Array.from({ length: PATH_STEPS }, (_, i) => {
        const t = i / (PATH_STEPS - 1);
        return [(1 - t) * a[0] + t * b[0], (1 - t) * a[1] + t * b[1]];
      });
      const pixels = await this.decode(codes);
      const context = this.path.getContext("2d");
      context.imageSmoothingEnabled = false;
      context.clearRect(0, 0, this.path.width, this.path.height);
      for (let i = 0; i < PATH_STEPS; i++) {
        context.drawImage(this.paint(pixels, 784 * i), 56 * i, 0, 56, 56);
        await new Promise((resolve) => setTimeout(resolve, 60)); // the strip fills in as a short animation
      }
      this.root.dataset.path = "drawn";
    }

    pixelFromEvent(event) {
      const box = this.plane.getBoundingClientRect();
      return [Math.floor((event.clientX - box.left) / box.width * this.size),
              Math.floor((event.clientY - box.top) / box.height * this.size)];
    }

    inside(pixel) {
      return pixel[0] >= 0 && pixel[1] >= 0 && pixel[0] < this.size && pixel[1] < this.size;
    }

    addEndpoint(pixel) {
      if (this.endpoints.length === 2) { // a new pair: the old strip goes
        this.endpoints = [];
        this.path.getContext("2d").clearRect(0, 0, this.path.width, this.path.height);
        delete this.root.dataset.path;
      }
      this.endpoints.push(pixel);
      this.drawMarkers();
      if (this.endpoints.length === 2) {
        this.playPath().catch((error) => this.say(`Decoding the path failed: ${error.message || error}.`, true));
      } else {
        this.say("Now choose a second point: the path between the two is decoded below.");
      }
    }

    connect() {
      this.plane.addEventListener("pointermove", (event) => {
        const pixel = this.pixelFromEvent(event);
        if (this.inside(pixel)) this.show(pixel);
      });
      this.plane.addEventListener("pointerleave", () => {
        this.say("The pointer left the plane: the image shows the last point decoded. Move it back over the plane to go on.");
      });
      this.plane.addEventListener("click", (event) => {
        const pixel = this.pixelFromEvent(event);
        if (this.inside(pixel)) this.addEndpoint(pixel);
      });
      this.plane.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          this.addEndpoint(this.pixel);
          return;
        }
        const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
        if (!(event.key in moves)) return;
        event.preventDefault();
        const [dx, dy] = moves[event.key];
        const clamp = (value) => Math.min(this.size - 1, Math.max(0, value));
        const next = [clamp(this.pixel[0] + dx * KEY_STEP), clamp(this.pixel[1] + dy * KEY_STEP)];
        if (next[0] === this.pixel[0] && next[1] === this.pixel[1]) {
          this.say("That is the edge of the plane drawn here: the marker stays inside it.");
          return;
        }
        this.show(next);
      });
      this.connectPad();
    }

    connectPad() {
      const context = this.pad.getContext("2d");
      const clear = () => {
        context.fillStyle = "#000000";
        context.fillRect(0, 0, this.pad.width, this.pad.height);
      };
      clear();
      let drawing = false;
      const point = (event) => {
        const box = this.pad.getBoundingClientRect();
        return [(event.clientX - box.left) / box.width * this.pad.width, (event.clientY - box.top) / box.height * this.pad.height];
      };
      this.pad.addEventListener("pointerdown", (event) => {
        drawing = true;
        this.pad.setPointerCapture(event.pointerId);
        context.beginPath();
        context.moveTo(...point(event));
      });
      this.pad.addEventListener("pointermove", (event) => {
        if (!drawing) return;
        context.strokeStyle = "#ffffff";
        context.lineWidth = 12;
        context.lineCap = context.lineJoin = "round";
        context.lineTo(...point(event));
        context.stroke();
      });
      const stop = () => { drawing = false; };
      this.pad.addEventListener("pointerup", stop);
      this.pad.addEventListener("pointercancel", stop);
      this.clearButton.addEventListener("click", () => {
        clear();
        delete this.root.dataset.drawing;
        delete this.root.dataset.drawingCode;
        this.say("The pad is clear.");
      });
      this.encodeButton.addEventListener("click", () => {
        this.placeDrawing().catch((error) => this.say(`Encoding the drawing failed: ${error.message || error}.`, true));
      });
    }

    drawingPixels() {
      const small = document.createElement("canvas");
      small.width = small.height = 28;
      const context = small.getContext("2d");
      context.drawImage(this.pad, 0, 0, 28, 28);
      const rgba = context.getImageData(0, 0, 28, 28).data;
      return Float32Array.from({ length: 784 }, (_, i) => rgba[4 * i] / 255);
    }

    async placeDrawing() {
      delete this.root.dataset.drawingCode;
      const pixels = this.drawingPixels();
      if (!pixels.some((value) => value > 0.1)) {
        this.say("The pad is empty: draw a garment on it first, white on black.", true);
        return;
      }
      await this.showing; // one inference at a time
      const code = await this.encode(pixels);
      const pixel = this.pixelOf(code).map(Math.round);
      this.root.dataset.drawing = Array.from(pixels, (v) => Math.round(v * 255)).join(",");
      this.root.dataset.drawingCode = code.map((v) => v.toFixed(6)).join(",");
      if (!this.inside(pixel)) {
        this.say(`Your drawing encodes to z = (${code[0].toFixed(2)}, ${code[1].toFixed(2)}), outside the part of the plane drawn here.`, true);
        return;
      }
      await this.show(pixel);
      this.say(`Your drawing sits at z = (${code[0].toFixed(2)}, ${code[1].toFixed(2)}); the image is what the decoder makes of that point.`);
    }

    async measure() {
      // One clock reading around all the decodes: browsers coarsen performance.now() to as much
      // as 0.1 ms, longer than one decode of the small models takes.
      await this.decode([this.code([0, 0])]);  // the first call pays for warm-up
      const started = performance.now();
      for (let i = 0; i < TIMING_DECODES; i++) {
        await this.decode([this.code([(37 * i) % this.size, (91 * i) % this.size])]);
      }
      this.decodeMs = (performance.now() - started) / TIMING_DECODES;
      this.root.dataset.loadMs = this.loadMs.toFixed(0);
      // Two decimals below a millisecond, so a fast decoder does not read as "0.0 ms".
      this.root.dataset.decodeMs = this.decodeMs.toFixed(this.decodeMs < 1 ? 2 : 1);
      this.timing.textContent = `In this browser the model loaded in ${(this.loadMs / 1000).toFixed(2)} s, and one decode takes ` +
        `${this.root.dataset.decodeMs} ms (mean of ${TIMING_DECODES} after one warm-up).`;
    }
  }

  function startAll() {
    document.querySelectorAll(".latent-explorer").forEach((root) => new Explorer(root).start());
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startAll);
  else startAll();
})();
