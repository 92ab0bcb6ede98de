// The credential card's seed as the booth reads it (SPEC-E2E §7.4): Crockford base32 in groups
// of four, each followed by its check symbol, exactly as `piaojue officer cards` prints it
// (crypto::printed_seed / parse_seed; pinned by tests/data/e2e/card-seeds.json). A typo is
// caught on the tablet, by group, before anything is derived from it.

const B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** The check symbol of a group of four: Σ wᵢ·vᵢ mod 32, weights 1, 3, 5, 7. */
export function checkSymbol(group) {
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += [1, 3, 5, 7][i] * B32.indexOf(group[i]);
  return B32[sum % 32];
}

/** Upper case, separators dropped, look-alikes folded (O→0, I/L→1). */
function fold(typed) {
  return typed.toUpperCase().replace(/[\s\-\u3000]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
}

/** What is wrong with a typed or scanned seed (null if nothing), in the deputy's words. */
export function seedProblem(typed) {
  const folded = fold(typed);
  const bad = [...folded].findIndex((c) => !B32.includes(c));
  if (bad >= 0) return "「" + folded[bad] + "」不是凭证卡上会印的字符，请对照凭证卡核对。";
  if (folded.length === 52) return null;
  if (folded.length !== 65) return "凭证码应为13组、每组5个字符（现在有" + folded.length + "个字符），请对照凭证卡核对。";
  for (let g = 0; g < 13; g++) {
    const group = folded.slice(g * 5, g * 5 + 5);
    if (checkSymbol(group.slice(0, 4)) !== group[4]) return "第" + (g + 1) + "组「" + group + "」似乎有误，请对照凭证卡核对这一组。";
  }
  return null;
}

/** The 32-byte seed (Uint8Array) of a typed or scanned card, or null if it does not check. */
export function parseSeed(typed) {
  if (seedProblem(typed) !== null) return null;
  let folded = fold(typed);
  if (folded.length === 65) folded = [...Array(13).keys()].map((g) => folded.slice(g * 5, g * 5 + 4)).join("");
  let bits = "";
  for (const c of folded) bits += B32.indexOf(c).toString(2).padStart(5, "0");
  // 52 symbols carry 260 bits: 256 of the seed and 4 that must be zero.
  if (!/^0000$/.test(bits.slice(256))) return null;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(bits.slice(8 * i, 8 * i + 8), 2);
  return out;
}

/** A seed as printed (the inverse of parseSeed). */
export function printedSeed(seed) {
  let bits = "";
  for (const b of seed) bits += b.toString(2).padStart(8, "0");
  bits += "0000";
  let plain = "";
  for (let i = 0; i < bits.length; i += 5) plain += B32[parseInt(bits.slice(i, i + 5), 2)];
  const groups = [];
  for (let i = 0; i < plain.length; i += 4) groups.push(plain.slice(i, i + 4) + checkSymbol(plain.slice(i, i + 4)));
  return groups.join("-");
}
