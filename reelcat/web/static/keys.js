// The questions page's keys (y / n / u / s / z press the button with that data-key), and
// one submit per page so a double press never records two answers. Served as
// /static/keys.js; the page works without it.
// Every POST carries the server's CSRF token (from <meta name="reelcat-token">) as its
// `csrf` field: the server's forms have it already, a form without it gets it here.
let sent = false;
const token = document.querySelector('meta[name="reelcat-token"]')?.content;
for (const f of document.querySelectorAll('form')) {
  f.addEventListener('submit', e => { if (sent) e.preventDefault(); sent = true; });
  if (token && f.method === 'post' && !f.elements.namedItem('csrf')) {
    const field = Object.assign(document.createElement('input'),
      { type: 'hidden', name: 'csrf', value: token });
    f.append(field);
  }
}
document.addEventListener('keydown', e => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
  const b = document.querySelector('button[data-key="' + e.key.toLowerCase() + '"]');
  if (b && !b.disabled) { e.preventDefault(); b.click(); }
});
