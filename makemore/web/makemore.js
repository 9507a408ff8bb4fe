/* makemore.js: sample from an exported makemore model in the browser, with no dependency and no request.
 *
 * model.js sets window.MAKEMORE_MODEL (weights, vocabulary, model card); this file reads it and defines
 * window.makemore:
 *   info                         the model card, architecture, config and vocabulary
 *   await nextCharProbs(prefix, label)  {char: probability} after "<start>" (or the label's start) + prefix;
 *                                "<end>" is the end of the line
 *   await sample({count, temperature, top_k, top_p, prefix, seed, label})  an array of strings
 *   await generate(options)      {lines, message, sampled}: sample() plus the Ideas constraints (starts_with,
 *                                ends_with, contains, exclude, min_len, max_len, unique, only_new, time_limit,
 *                                oversample: sample that many times count lines and keep the likeliest)
 *
 * Every architecture keeps the same decoding state as its Python decode_step (makemore/models/), so a
 * character costs one step: a transformer's keys and values, a recurrent state, an MLP's window, a CNN's
 * past normalised inputs per layer, a bag of words' running sums. Token 0 is both <start> and <end>;
 * characters are tokens 1..C, in the vocabulary's order; a model trained on labels has one start token per
 * label after them (C+1.., in the order of M.labels), which starts a line of that label and is never written. Arithmetic is in float64 over float32 weights.
 */
(function () {
  "use strict";
  const END = 0;
  const FORMAT = 1;

  // --- weights ---------------------------------------------------------------------------------------
  function bytesOf(b64) {
    const text = atob(b64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  function halfToFloat(h) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    if (exponent === 0) return sign * fraction * 2 ** -24;
    if (exponent === 31) return fraction ? NaN : sign * Infinity;
    return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }

  /* A tensor of model.js as a Float32Array: f32 (4 bytes), f24 (the top 3 bytes of an f32) or f16. */
  function decodeTensor(spec) {
    const bytes = bytesOf(spec.data);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const bits = new Uint32Array(n);
    if (spec.dtype === "f32" || spec.dtype === "f24") {
      const width = spec.dtype === "f32" ? 4 : 3;
      const skip = 4 - width; // f24 keeps bytes 1..3 of each little-endian f32
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (let j = 0; j < width; j++) v |= bytes[i * width + j] << (8 * (j + skip));
        bits[i] = v >>> 0;
      }
      return new Float32Array(bits.buffer);
    }
    if (spec.dtype === "f16") {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(bytes[2 * i] | (bytes[2 * i + 1] << 8));
      return out;
    }
    throw new Error(`model.js stores a tensor as ${spec.dtype}, which this page cannot read: export the model again.`);
  }

  // --- maths -------------------------------------------------------------------------------------------
  /* y = W x + b for a torch Linear weight W of shape (out, in), row-major. */
  function linear(W, b, x, out) {
    const n = x.length;
    const y = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let s = b ? b[o] : 0;
      const row = o * n;
      for (let i = 0; i < n; i++) s += W[row + i] * x[i];
      y[o] = s;
    }
    return y;
  }

  function layerNorm(x, w, b) {
    const n = x.length;
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[i];
    mean /= n;
    let variance = 0;
    for (let i = 0; i < n; i++) variance += (x[i] - mean) ** 2;
    const scale = 1 / Math.sqrt(variance / n + 1e-5);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) y[i] = (x[i] - mean) * scale * w[i] + b[i];
    return y;
  }

  /* erf by the Chebyshev fit of erfc in Numerical Recipes (fractional error below 1.2e-7). */
  function erf(x) {
    const z = Math.abs(x);
    const t = 1 / (1 + 0.5 * z);
    const poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
      t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    const erfc = t * Math.exp(poly);
    return x >= 0 ? 1 - erfc : erfc - 1;
  }

  const sigmoid = (v) => 1 / (1 + Math.exp(-v));
  const gelu = (v) => 0.5 * v * (1 + erf(v / Math.SQRT2));
  const map = (x, f) => x.map(f);
  const row = (table, i, n) => new Float64Array(table.subarray(i * n, (i + 1) * n));

  function add(x, y) {
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i] + y[i];
    return out;
  }

  // --- architectures: each is {start() -> state, step(state, token) -> logits} ---------------------------
  function bigram(W, c) {
    const V = c.vocab_size;
    return { start: () => ({}), step: (s, token) => row(W["logits"], token, V) };
  }

  function mlp(W, c) {
    const V = c.vocab_size, k = c.context, e = c.n_embd;
    return {
      start: () => ({ window: new Array(k).fill(V) }), // token V is "before the start of the line"
      step(s, token) {
        s.window = s.window.slice(1).concat([token]);
        const x = new Float64Array(k * e);
        s.window.forEach((t, j) => x.set(W["wte.weight"].subarray(t * e, (t + 1) * e), j * e));
        const h = map(linear(W["hidden.weight"], W["hidden.bias"], x, c.n_embd2), Math.tanh);
        return linear(W["head.weight"], W["head.bias"], h, V);
      },
    };
  }

  function cnn(W, c) {
    const C = c.n_embd2, L = c.n_layer;
    function block(s, i, x) {
      const p = `blocks.${i}.`, d = 2 ** i;
      const h = layerNorm(x, W[p + "norm.weight"], W[p + "norm.bias"]);
      s.past[i].push(h);
      const before = s.past[i].length > d ? s.past[i][s.past[i].length - 1 - d] : null; // zeros before the line
      if (s.past[i].length > d + 1) s.past[i].shift();
      const conv = W[p + "conv.weight"], bias = W[p + "conv.bias"]; // (2C, C, 2): tap 0 is t-d, tap 1 is t
      const g = new Float64Array(C);
      for (let o = 0; o < C; o++) {
        const filt = convAt(conv, bias, o, C, before, h), gate = convAt(conv, bias, o + C, C, before, h);
        g[o] = Math.tanh(filt) * sigmoid(gate);
      }
      return add(x, linear(W[p + "proj.weight"], W[p + "proj.bias"], g, C));
    }
    return {
      start: () => ({ past: Array.from({ length: L }, () => []) }),
      step(s, token) {
        let x = row(W["wte.weight"], token, C);
        for (let i = 0; i < L; i++) x = block(s, i, x);
        return linear(W["head.weight"], W["head.bias"], layerNorm(x, W["norm.weight"], W["norm.bias"]), c.vocab_size);
      },
    };
  }

  function convAt(conv, bias, o, C, before, now) {
    let s = bias[o];
    for (let ch = 0; ch < C; ch++) {
      const at = (o * C + ch) * 2;
      if (before) s += conv[at] * before[ch];
      s += conv[at + 1] * now[ch];
    }
    return s;
  }

  /* torch's RNN, LSTM and GRU cells, gate order as torch stores them (LSTM i f g o; GRU r z n). */
  function recurrent(kind) {
    const gates = { rnn: 1, lstm: 4, gru: 3 }[kind];
    return function (W, c) {
      const H = c.n_embd2;
      function cell(x, s, l) {
        const p = (n) => W[`rnn.${n}_l${l}`];
        const gi = linear(p("weight_ih"), p("bias_ih"), x, gates * H);
        const gh = linear(p("weight_hh"), p("bias_hh"), s.h[l], gates * H);
        const h = new Float64Array(H);
        for (let j = 0; j < H; j++) {
          if (kind === "rnn") h[j] = Math.tanh(gi[j] + gh[j]);
          else if (kind === "gru") {
            const r = sigmoid(gi[j] + gh[j]), z = sigmoid(gi[H + j] + gh[H + j]);
            const n = Math.tanh(gi[2 * H + j] + r * gh[2 * H + j]);
            h[j] = (1 - z) * n + z * s.h[l][j];
          } else {
            const i = sigmoid(gi[j] + gh[j]), f = sigmoid(gi[H + j] + gh[H + j]);
            const g = Math.tanh(gi[2 * H + j] + gh[2 * H + j]), o = sigmoid(gi[3 * H + j] + gh[3 * H + j]);
            s.c[l][j] = f * s.c[l][j] + i * g;
            h[j] = o * Math.tanh(s.c[l][j]);
          }
        }
        s.h[l] = h;
        return h;
      }
      const zeros = () => Array.from({ length: c.n_layer }, () => new Float64Array(H));
      return {
        start: () => ({ h: zeros(), c: zeros() }),
        step(s, token) {
          let x = row(W["wte.weight"], token, c.n_embd);
          for (let l = 0; l < c.n_layer; l++) x = cell(x, s, l);
          return linear(W["head.weight"], W["head.bias"], x, c.vocab_size);
        },
      };
    };
  }

  /* Bag of words: each block adds the running mean of its inputs, so the state is one running sum per block. */
  function bow(W, c) {
    const E = c.n_embd;
    return {
      start: () => ({ position: 0, sums: Array.from({ length: c.n_layer }, () => new Float64Array(E)) }),
      step(s, token) {
        const t = s.position++;
        let x = add(row(W["wte.weight"], token, E), row(W["wpe.weight"], t, E));
        for (let l = 0; l < c.n_layer; l++) {
          const p = `blocks.${l}.mlp.`;
          s.sums[l] = add(s.sums[l], x);
          x = add(x, map(s.sums[l], (v) => v / (t + 1)));
          const h = map(linear(W[p + "0.weight"], W[p + "0.bias"], x, c.n_embd2), Math.tanh);
          x = add(x, linear(W[p + "2.weight"], W[p + "2.bias"], h, E));
        }
        return linear(W["head.weight"], W["head.bias"], x, c.vocab_size);
      },
    };
  }

  /* GPT: pre-norm blocks; each layer caches the keys and values of the positions so far. */
  function transformer(W, c) {
    const E = c.n_embd, heads = c.n_head, size = E / heads;
    function attend(q, keys, values, h) {
      const w = new Float64Array(keys.length), from = h * size, scale = 1 / Math.sqrt(size);
      for (let t = 0; t < keys.length; t++) {
        let s = 0;
        for (let i = 0; i < size; i++) s += q[from + i] * keys[t][from + i];
        w[t] = s * scale;
      }
      const p = softmax(w);
      const y = new Float64Array(size);
      for (let t = 0; t < values.length; t++) for (let i = 0; i < size; i++) y[i] += p[t] * values[t][from + i];
      return y;
    }
    function block(layer, l, x) {
      const p = `blocks.${l}.`;
      const qkv = linear(W[p + "attn.qkv.weight"], W[p + "attn.qkv.bias"], layerNorm(x, W[p + "ln1.weight"], W[p + "ln1.bias"]), 3 * E);
      layer.keys.push(qkv.subarray(E, 2 * E));
      layer.values.push(qkv.subarray(2 * E, 3 * E));
      const y = new Float64Array(E);
      for (let h = 0; h < heads; h++) y.set(attend(qkv.subarray(0, E), layer.keys, layer.values, h), h * size);
      x = add(x, linear(W[p + "attn.proj.weight"], W[p + "attn.proj.bias"], y, E));
      const hidden = map(linear(W[p + "mlp.0.weight"], W[p + "mlp.0.bias"], layerNorm(x, W[p + "ln2.weight"], W[p + "ln2.bias"]), 4 * E), gelu);
      return add(x, linear(W[p + "mlp.2.weight"], W[p + "mlp.2.bias"], hidden, E));
    }
    return {
      start: () => ({ position: 0, layers: Array.from({ length: c.n_layer }, () => ({ keys: [], values: [] })) }),
      step(s, token) {
        if (s.position >= c.block_size) throw new Error(`cannot decode past the block size ${c.block_size}`);
        let x = add(row(W["wte.weight"], token, E), row(W["wpe.weight"], s.position++, E));
        s.layers.forEach((layer, l) => { x = block(layer, l, x); });
        return linear(W["head.weight"], null, layerNorm(x, W["ln_f.weight"], W["ln_f.bias"]), c.vocab_size);
      },
    };
  }

  const ARCHS = { bigram, mlp, cnn, rnn: recurrent("rnn"), lstm: recurrent("lstm"), gru: recurrent("gru"), bow, transformer };

  function softmax(logits) {
    let max = -Infinity;
    for (const v of logits) if (v > max) max = v;
    const e = logits.map((v) => (v === -Infinity ? 0 : Math.exp(v - max)));
    let sum = 0;
    for (const v of e) sum += v;
    return e.map((v) => v / sum);
  }

  function logSumExp(logits) {
    let max = -Infinity, sum = 0;
    for (const v of logits) if (v > max) max = v;
    for (const v of logits) sum += Math.exp(v - max);
    return max + Math.log(sum);
  }

  // --- sampling ------------------------------------------------------------------------------------------
  /* mulberry32: a small seeded generator of floats in [0, 1). */
  function random(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /* As makemore.sample.filter_logits: temperature, then top-k (ties kept), then top-p (the smallest set
   * of likeliest characters reaching top_p); forbidden tokens are -Infinity. */
  function filtered(logits, o, forbidden) {
    let x = logits.map((v, i) => (forbidden && forbidden[i] ? -Infinity : v / o.temperature));
    if (o.top_k && o.top_k < x.length) {
      const kth = [...x].sort((a, b) => b - a)[o.top_k - 1];
      x = x.map((v) => (v < kth ? -Infinity : v));
    }
    if (o.top_p < 1) {
      const order = [...x.keys()].sort((a, b) => x[b] - x[a]);
      const p = softmax(order.map((i) => x[i]));
      let before = 0;
      const keep = new Set();
      order.forEach((i, r) => { if (before < o.top_p) keep.add(i); before += p[r]; });
      x = x.map((v, i) => (keep.has(i) ? v : -Infinity));
    }
    return softmax(x);
  }

  function draw(probs, rand) {
    const u = rand();
    let cumulative = 0, last = 0;
    for (let i = 0; i < probs.length; i++) {
      if (probs[i] <= 0) continue;
      cumulative += probs[i];
      last = i;
      if (u < cumulative) return i;
    }
    return last;
  }

  // --- the page's model --------------------------------------------------------------------------------
  function load(M) {
    if (!M) throw new Error("model.js did not load: keep it in the same folder as index.html.");
    if (M.format !== FORMAT) throw new Error(`model.js has format ${M.format}; this page reads format ${FORMAT}: export the model again.`);
    if (!ARCHS[M.arch]) throw new Error(`This page cannot run a ${M.arch} model: export it with a newer makemore.`);
    const W = {};
    for (const [name, spec] of Object.entries(M.tensors)) W[name] = decodeTensor(spec);
    const stoi = new Map(M.vocab.map((ch, i) => [ch, i + 1]));
    const labels = M.labels || [];
    return { M, net: ARCHS[M.arch](W, M.config), stoi, labels, hashes: trainHashes(M.train_hashes) };
  }

  function trainHashes(b64) {
    if (!b64) return null;
    const bytes = bytesOf(b64);
    const view = new DataView(bytes.buffer);
    const out = new Uint32Array(bytes.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getUint32(4 * i, true);
    return out;
  }

  /* 32-bit FNV-1a of the UTF-8 bytes, as makemore/export.py. */
  function fnv1a(text) {
    let h = 0x811c9dc5;
    for (const byte of new TextEncoder().encode(text)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
    return h >>> 0;
  }

  function inTraining(m, text) {
    const h = fnv1a(text), a = m.hashes;
    let lo = 0, hi = a.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (a[mid] === h) return true;
      if (a[mid] < h) lo = mid + 1; else hi = mid - 1;
    }
    return false;
  }

  function encode(m, text, what) {
    const chars = Array.from(text);
    const unknown = [...new Set(chars.filter((ch) => !m.stoi.has(ch)))];
    if (unknown.length) {
      throw new Error(`${what}: ${unknown.map((ch) => JSON.stringify(ch)).join(", ")} never occur in the training data, so the model cannot write them: remove them.`);
    }
    return chars.map((ch) => m.stoi.get(ch));
  }

  // --- generation under constraints ------------------------------------------------------------------------
  /* The shortest text (as tokens) that starts with head and ends with tail. */
  /* The start token of a line of `label` (blank: no label, token 0); an unknown label is named. */
  function startToken(m, label) {
    if (label === undefined || label === null || label === "") return END;
    if (!m.labels.length) throw new Error(`This model was trained without labels, so it cannot write a '${label}' line: leave the label blank.`);
    const i = m.labels.indexOf(String(label));
    check(i >= 0, `There is no label '${label}' in this model: use one of ${m.labels.map((l) => `'${l}'`).join(", ")}, or leave the label blank.`);
    return m.M.vocab.length + 1 + i;
  }

  function merge(head, tail) {
    for (let k = Math.min(head.length, tail.length); k >= 0; k--) {
      if (k === 0 || head.slice(head.length - k).join() === tail.slice(0, k).join()) return head.concat(tail.slice(k));
    }
    return head.concat(tail);
  }

  const endsWith = (out, tail) => tail.length <= out.length && tail.every((t, i) => out[out.length - tail.length + i] === t);
  const holds = (out, part) => !part.length || out.some((_, i) => part.every((t, j) => out[i + j] === t));

  /* One line, as makemore.ideas.sample_batch does it for a row: the prefix is fed, excluded characters and
   * an early end are masked, and a row that wants to end (or runs out of room) before it has `contains` and
   * `ends_with` writes out what it lacks. Returns the tokens, without the end, and the score: the mean
   * log-probability per character, the end included, at temperature 1 (as makemore.ideas). */
  function sampleRow(m, o, c, rand) {
    const s = m.net.start(), out = [], queue = [];
    let token = c.start, logprob = 0;
    for (let t = 0; t <= c.max_len; t++) {
      const logits = m.net.step(s, token);
      if (t < c.prefix.length) token = c.prefix[t];
      else if (t === c.max_len) token = END;
      else if (queue.length) token = queue.shift();
      else token = chooseToken(out, c, draw(filtered(logits, o, forbiddenAt(c, t)), rand), c.max_len - t, queue);
      logprob += logits[token] - logSumExp(logits);
      if (token === END) break;
      out.push(token);
    }
    return { tokens: out, score: logprob / (out.length + 1) };
  }

  function chooseToken(out, c, sampled, room, queue) {
    const hasContains = holds(out, c.contains), satisfied = hasContains && endsWith(out, c.ends);
    const need = hasContains ? c.ends.length : c.both.length;
    let write = null;
    if (need > 0 && room <= need) write = satisfied ? [END] : hasContains ? c.ends.concat([END]) : c.both.concat([END]);
    else if (sampled === END && !satisfied) {
      if (hasContains) write = c.ends.concat([END]);
      else if (room < c.contains.length + c.ends.length || holds(c.ends, c.contains)) write = c.both.concat([END]);
      else write = c.contains.slice(); // then it samples on
    }
    if (!write) return sampled;
    queue.push(...write.slice(1));
    return write[0];
  }

  function forbiddenAt(c, t) {
    const forbidden = c.excluded.slice();
    forbidden[END] = t < c.min_len;
    if (forbidden.every(Boolean)) forbidden[END] = false; // nothing allowed: end, and the final check drops it
    return forbidden;
  }

  function number(value, fallback) {
    return value === undefined || value === null || value === "" ? fallback : Number(value);
  }

  /* The options of generate(), checked, with the constraints as tokens. */
  function prepare(m, opts) {
    const limit = m.M.config.block_size - 1;
    const o = {
      count: number(opts.count, 10), temperature: number(opts.temperature, 1), top_k: number(opts.top_k, 0),
      top_p: number(opts.top_p, 1), seed: number(opts.seed, null), time_limit: number(opts.time_limit, 10),
      unique: Boolean(opts.unique), only_new: Boolean(opts.only_new), oversample: number(opts.oversample, 1),
    };
    check(Number.isInteger(o.count) && o.count >= 1 && o.count <= 10000, `count must be a whole number from 1 to 10,000, not ${opts.count}.`);
    check(o.temperature > 0 && o.temperature <= 10, `temperature must be above 0 and at most 10 (1 = as trained), not ${opts.temperature}.`);
    check(Number.isInteger(o.top_k) && o.top_k >= 0, `top_k must be 0 (off) or a positive whole number, not ${opts.top_k}.`);
    check(o.top_p > 0 && o.top_p <= 1, `top_p must be above 0 and at most 1 (1 = off), not ${opts.top_p}.`);
    check(Number.isInteger(o.oversample) && o.oversample >= 1 && o.oversample <= 10, `oversample must be a whole number from 1 to 10, not ${opts.oversample}.`);
    check(o.seed === null || Number.isInteger(o.seed), `seed must be a whole number, not ${opts.seed}.`);
    check(!o.only_new || m.hashes, "'Only new' needs the training lines, which this export does not ship (they may be private): export with --include-training-lines.");
    const prefix = encode(m, String(opts.prefix ?? opts.starts_with ?? ""), "starts with");
    const contains = encode(m, String(opts.contains ?? ""), "contains");
    const ends = encode(m, String(opts.ends_with ?? ""), "ends with");
    const exclude = new Set(Array.from(String(opts.exclude ?? "")));
    const excluded = [false, ...m.M.vocab.map((ch) => exclude.has(ch)), ...m.labels.map(() => true)];
    const c = {
      start: startToken(m, opts.label), prefix, contains, ends, excluded, exclude, min_len: number(opts.min_len, 0), max_len: Math.min(number(opts.max_len, limit), limit),
      both: holds(ends, contains) ? ends : merge(contains, ends),
    };
    check(Number.isInteger(c.min_len) && Number.isInteger(c.max_len) && c.min_len <= c.max_len, `the length must be whole numbers with min ≤ max (the model writes at most ${limit} characters).`);
    const shortest = Math.max(merge(prefix, ends).length, contains.length, c.min_len);
    check(shortest <= c.max_len, `No line of at most ${c.max_len} characters can meet these constraints: that takes ${shortest}. Raise the length, or shorten the texts.`);
    check(![...prefix, ...contains, ...ends].some((t) => excluded[t]), "starts with, contains or ends with uses a character that exclude forbids.");
    return { o, c };
  }

  function check(ok, message) {
    if (!ok) throw new Error(message);
  }

  function accepts(m, c, tokens) {
    return tokens.length >= c.min_len && tokens.length <= c.max_len && tokens.slice(0, c.prefix.length).every((t, i) => t === c.prefix[i]) &&
      endsWith(tokens, c.ends) && holds(tokens, c.contains) && !tokens.some((t) => c.excluded[t]);
  }

  function decode(m, tokens) {
    return tokens.map((t) => m.M.vocab[t - 1]).join("");
  }

  /* Lines that meet every constraint, until there are count of them (times `oversample`, of which the
   * likeliest count are kept, as makemore.ideas ranks) or time_limit seconds pass. */
  async function generateWith(m, opts) {
    const { o, c } = prepare(m, opts || {});
    const rand = random(o.seed === null ? Math.floor(Math.random() * 2 ** 32) : o.seed);
    const pool = [], seen = new Set(), started = performance.now(), limit = 1000 * o.time_limit;
    const enough = () => pool.length >= o.oversample * o.count || (pool.length >= o.count && performance.now() - started > limit / 2);
    let sampled = 0;
    while (!enough() && (sampled < o.count || performance.now() - started < limit)) {
      const { tokens, score } = sampleRow(m, o, c, rand);
      sampled++;
      const text = decode(m, tokens);
      if (!accepts(m, c, tokens) || (o.unique && seen.has(text)) || (o.only_new && inTraining(m, text))) continue;
      seen.add(text);
      pool.push({ text, score });
    }
    if (o.oversample > 1) pool.sort((a, b) => b.score - a.score);
    const lines = pool.slice(0, o.count).map((p) => p.text);
    const message = lines.length < o.count ? `Only ${lines.length} of ${o.count} lines found in ${o.time_limit} s (${sampled} sampled): loosen the constraints or ask for fewer.` : "";
    return { lines, message, sampled };
  }

  async function nextCharProbs(m, prefix, label) {
    const tokens = encode(m, String(prefix ?? ""), "the prefix");
    check(tokens.length < m.M.config.block_size, `the prefix is ${tokens.length} characters; this model writes at most ${m.M.config.block_size - 1}.`);
    const s = m.net.start();
    let logits = m.net.step(s, startToken(m, label));
    for (const t of tokens) logits = m.net.step(s, t);
    const probs = softmax(logits), out = { "<end>": probs[END] };
    m.M.vocab.forEach((ch, i) => { out[ch] = probs[i + 1]; });
    return out;
  }

  function api(m) {
    const { M } = m;
    return {
      info: { ...M.card, arch: M.arch, config: M.config, vocab: M.vocab.slice(), labels: m.labels.slice(), format: M.format, only_new: Boolean(m.hashes) },
      nextCharProbs: (prefix, label) => nextCharProbs(m, prefix, label),
      sample: async (opts) => (await generateWith(m, { time_limit: 10, ...(opts || {}), unique: false, only_new: false })).lines,
      generate: (opts) => generateWith(m, opts),
    };
  }

  try {
    window.makemore = api(load(window.MAKEMORE_MODEL));
  } catch (e) {
    window.makemore = { error: e.message };
  }
})();
