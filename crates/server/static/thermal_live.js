// Live thermal view: long-polls the frame endpoint; a click or the arrow keys move the spot meter
// (TH-02, TH-03).
(() => {
  const source = document.getElementById('live').dataset.source;
  const img = document.getElementById('frame');
  let after = 0, spot = null, width = 0, height = 0, controller = null;
  const fmt = r => r && r.celsius !== null ? `${r.celsius.toFixed(1)} °C at (${r.x}, ${r.y})` : '–';
  const moveSpot = (x, y) => {
    spot = [Math.min(width - 1, Math.max(0, x)), Math.min(height - 1, Math.max(0, y))];
    after = 0;
    if (controller) controller.abort();
  };
  img.addEventListener('click', ev => {
    if (!width) return;
    const rect = img.getBoundingClientRect();
    moveSpot(Math.floor((ev.clientX - rect.left) * width / rect.width),
             Math.floor((ev.clientY - rect.top) * height / rect.height));
  });
  // The keyboard moves the spot too: arrow keys by a twentieth of the picture (Shift: one pixel),
  // Enter or Space to its centre.
  img.addEventListener('keydown', ev => {
    if (!width) return;
    const [x, y] = spot || [Math.floor(width / 2), Math.floor(height / 2)];
    const step = ev.shiftKey ? 1 : Math.max(1, Math.round(width / 20));
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[ev.key]) moveSpot(x + moves[ev.key][0], y + moves[ev.key][1]);
    else if (ev.key === 'Enter' || ev.key === ' ') moveSpot(Math.floor(width / 2), Math.floor(height / 2));
    else return;
    ev.preventDefault();
  });
  async function loop() {
    for (;;) {
      let q = `after=${after}&palette=${document.getElementById('palette').value}`;
      if (spot) q += `&x=${spot[0]}&y=${spot[1]}`;
      try {
        controller = new AbortController();
        const r = await fetch(`/api/thermal/live/${encodeURIComponent(source)}/view?${q}`, {cache: 'no-store', signal: controller.signal});
        if (r.status === 204) continue;
        if (!r.ok) {
          const p = await r.json().catch(() => ({}));
          document.getElementById('status').textContent = p.detail || `error ${r.status}`;
          await new Promise(res => setTimeout(res, 2000));
          continue;
        }
        const f = await r.json();
        // A source that does not measure temperature: the picture is relative intensity only.
        const na = f.radiometric === false ? 'not radiometric: temperatures unavailable' : null;
        document.getElementById('status').textContent = na ? `${na} (${f.reason})` : '';
        after = f.seq; width = f.width; height = f.height;
        img.src = f.image;
        document.getElementById('spot').textContent = na || fmt(f.spot);
        document.getElementById('min').textContent = na || fmt(f.min);
        document.getElementById('max').textContent = na || fmt(f.max);
        document.getElementById('seq').textContent = String(f.seq);
      } catch (e) {
        if (e.name === 'AbortError') continue;
        await new Promise(res => setTimeout(res, 2000));
      }
    }
  }
  loop();
})();
