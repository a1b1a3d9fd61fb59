// Microphone capture in the page: level, elapsed time, and a 16-bit PCM WAV when stopped.

export function encodeWav(blocks, sampleRate) {
  const frames = blocks.reduce((n, b) => n + b.length, 0);
  const buffer = new ArrayBuffer(44 + frames * 2);
  const view = new DataView(buffer);
  const text = (offset, s) => { for (let i = 0; i < s.length; i++) view.setUint8(offset + i, s.charCodeAt(i)); };
  text(0, "RIFF"); view.setUint32(4, 36 + frames * 2, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true);  // PCM
  view.setUint16(22, 1, true); view.setUint32(24, sampleRate, true);             // mono
  view.setUint32(28, sampleRate * 2, true); view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  text(36, "data"); view.setUint32(40, frames * 2, true);
  let offset = 44;
  for (const block of blocks) {
    for (let i = 0; i < block.length; i++, offset += 2) {
      const s = Math.max(-1, Math.min(1, block[i]));
      view.setInt16(offset, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
  }
  return new Blob([buffer], { type: "audio/wav" });
}

export class Recorder {
  // onTick({seconds, levelDb, peak}) runs about 20 times a second while recording.
  constructor(onTick) {
    this.onTick = onTick;
    this.blocks = [];
  }

  async start() {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new Error("this browser cannot record here (recording needs https or localhost)");
    }
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    this.context = new AudioContext();
    await this.context.audioWorklet.addModule("/studio/static/recorder-worklet.js");
    const input = this.context.createMediaStreamSource(this.stream);
    this.node = new AudioWorkletNode(this.context, "capture");
    this.blocks = [];
    this.node.port.onmessage = (e) => this.blocks.push(e.data);
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = 2048;
    input.connect(this.node);
    input.connect(this.analyser);
    this.started = performance.now();
    const data = new Float32Array(this.analyser.fftSize);
    this.timer = setInterval(() => {
      this.analyser.getFloatTimeDomainData(data);
      let sum = 0, peak = 0;
      for (const v of data) { sum += v * v; peak = Math.max(peak, Math.abs(v)); }
      const levelDb = 10 * Math.log10(sum / data.length + 1e-12);
      this.onTick({ seconds: this.seconds, levelDb, peak });
    }, 50);
  }

  get seconds() {
    const frames = this.blocks.reduce((n, b) => n + b.length, 0);
    return this.context ? frames / this.context.sampleRate : 0;
  }

  async stop() {
    clearInterval(this.timer);
    this.stream?.getTracks().forEach((t) => t.stop());
    const rate = this.context?.sampleRate || 48000;
    await this.context?.close();
    this.context = null;
    return encodeWav(this.blocks, rate);
  }
}
