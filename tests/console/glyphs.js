// Run in the page: every CJK character shown in the document, drawn on a canvas in the font
// of the element that shows it, compared pixel by pixel with a character no font has
// (U+10FFFF, a noncharacter) in the same font. A match means the character renders as the
// missing-glyph box ("tofu"). Returns {checked, missing, blank, sample}.
() => {
  const CJK = /[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]/u;
  const NO_GLYPH = "\u{10FFFF}";
  const canvas = document.createElement("canvas");
  canvas.width = 64;
  canvas.height = 64;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const draw = (text, font) => {
    ctx.clearRect(0, 0, 64, 64);
    ctx.font = font;
    ctx.fillStyle = "#000";
    ctx.textBaseline = "top";
    ctx.fillText(text, 8, 8);
    return ctx.getImageData(0, 0, 64, 64).data;
  };
  const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
  const inked = (a) => a.some((v, i) => i % 4 === 3 && v > 0);
  const byFont = new Map();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || !el.getClientRects().length) continue; // not rendered
    const style = getComputedStyle(el);
    const font = `32px ${style.fontFamily}`;
    const chars = byFont.get(font) ?? new Set();
    for (const ch of node.textContent) if (CJK.test(ch)) chars.add(ch);
    byFont.set(font, chars);
  }
  const result = { checked: 0, missing: [], blank: [], sample: "" };
  for (const [font, chars] of byFont) {
    const tofu = draw(NO_GLYPH, font);
    for (const ch of chars) {
      const pixels = draw(ch, font);
      result.checked += 1;
      if (result.sample.length < 40) result.sample += ch;
      if (same(pixels, tofu)) result.missing.push(ch);
      else if (!inked(pixels)) result.blank.push(ch);
    }
  }
  return result;
}
