// Draws a checked sample: the envelope, speech segments, pauses over the limit and clipping.

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function drawWaveform(canvas, wave, cursorS = null) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, canvas.clientWidth);
  const height = Math.max(1, canvas.clientHeight);
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  if (!wave) return;
  const duration = wave.duration_s || 1;
  const x = (t) => (t / duration) * width;
  const mid = height / 2;

  g.fillStyle = css("--speech");
  for (const [a, b] of wave.segments) g.fillRect(x(a), 0, Math.max(1, x(b) - x(a)), height);
  g.fillStyle = css("--pause");
  for (const [a, b] of wave.long_pauses) {
    g.globalAlpha = 0.45;
    g.fillRect(x(a), 0, Math.max(2, x(b) - x(a)), height);
    g.globalAlpha = 1;
    g.fillRect(x(a), height - 14, Math.max(2, x(b) - x(a)), 14);
  }

  g.fillStyle = css("--wave");
  const columns = wave.envelope.length;
  for (let i = 0; i < columns; i++) {
    const [lo, hi] = wave.envelope[i];
    const left = (i / columns) * width;
    const w = Math.max(1, width / columns);
    g.fillRect(left, mid - hi * (mid - 4), w, Math.max(1, (hi - lo) * (mid - 4)));
  }

  g.fillStyle = css("--clip");
  for (const [a, b] of wave.clipped) g.fillRect(x(a) - 1, 0, Math.max(2, x(b) - x(a) + 2), 8);

  g.fillStyle = css("--muted");
  g.font = "11px system-ui, sans-serif";
  const step = duration > 40 ? 10 : duration > 12 ? 5 : duration > 4 ? 2 : 1;
  for (let t = step; t < duration; t += step) {
    g.fillRect(x(t), height - 4, 1, 4);
    g.fillText(`${t}s`, x(t) + 2, height - 4);
  }
  if (cursorS !== null) {
    g.fillStyle = css("--accent");
    g.fillRect(x(cursorS), 0, 2, height);
  }
}

export function describeWaveform(wave) {
  const n = (count, one) => `${count} ${one}${count === 1 ? "" : "s"}`;
  const clipping = wave.clipped.length ? n(wave.clipped.length, "clipped spot") : "no clipping";
  return `${wave.duration_s.toFixed(1)} s: ${n(wave.segments.length, "speech segment")}, ` +
    `${n(wave.long_pauses.length, "long pause")}, ${clipping}`;
}
