// A frame cut from the archive file on request (/frame/…: the questions' frame, the
// archive's and the search's stills) falls back to its stored thumbnail, named by the
// image's data-fallback, when the archive file cannot be read. Served as
// /static/fallback.js; without it such a frame shows as broken.
// (The error may come before this script runs: then the image is already broken.)
for (const img of document.querySelectorAll('img[data-fallback]')) {
  const fallback = () => { img.src = img.dataset.fallback; img.removeAttribute('data-fallback'); };
  if (img.complete && img.naturalWidth === 0) fallback();
  else img.addEventListener('error', fallback, { once: true });
}
