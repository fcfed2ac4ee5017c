// Playing a moment (served as /static/play.js; the pages work without it).
// The video page: ?t= (a heat-map cell, a search hit) starts the player there and plays;
// a click on anything with data-seek (a timeline bar, a severity bin, a flagged moment)
// plays from its time instead of reloading the page at its ?t= link.
// The archive page: a click on the heat map opens the video of the row clicked at the
// start of the cell clicked (the row's link alone opens it at 0:00).
const player = document.getElementById('player');

function playFrom(t) {
  player.currentTime = t;
  // a browser may refuse to play sound before the person has used the page: then muted
  player.play().catch(() => { player.muted = true; return player.play(); }).catch(() => {});
}

if (player) {
  if (player.dataset.start) {
    const start = Number(player.dataset.start);
    if (player.readyState >= HTMLMediaElement.HAVE_METADATA) playFrom(start);
    else player.addEventListener('loadedmetadata', () => playFrom(start), { once: true });
  }
  document.addEventListener('click', e => {
    const link = e.target.closest('[data-seek]');
    if (!link || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    playFrom(Number(link.dataset.seek));
    history.replaceState(null, '', '?t=' + link.dataset.seek);
    player.scrollIntoView({ block: 'nearest' });
  });
  player.addEventListener('error', () => {
    const note = document.getElementById('player-error');
    note.textContent = 'The video could not be played: open ' + player.src.split('#')[0] +
      ' to see why.';
    note.hidden = false;
  });
}

const cells = document.querySelector('.heatmap svg');
if (cells) {
  cells.addEventListener('click', e => {
    const row = e.target.closest('a[data-duration]');
    if (!row || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    const at = new DOMPoint(e.clientX, e.clientY).matrixTransform(cells.getScreenCTM().inverse());
    const bins = Number(cells.dataset.bins);
    const fraction = (at.x - Number(cells.dataset.left)) / Number(cells.dataset.width);
    const bin = Math.min(bins - 1, Math.max(0, Math.floor(fraction * bins)));
    e.preventDefault();
    const t = bin * Number(row.dataset.duration) / bins;
    location.href = row.getAttribute('href') + '?t=' + t.toFixed(2);
  });
}
