// The questions page's keys (y / n / u / s / z press the button with that data-key), and
// one submit per page so a double press never records two answers. Served as
// /static/keys.js; the page works without it.
let sent = false;
for (const f of document.querySelectorAll('form')) {
  f.addEventListener('submit', e => { if (sent) e.preventDefault(); sent = true; });
}
document.addEventListener('keydown', e => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
  const b = document.querySelector('button[data-key="' + e.key.toLowerCase() + '"]');
  if (b && !b.disabled) { e.preventDefault(); b.click(); }
});
