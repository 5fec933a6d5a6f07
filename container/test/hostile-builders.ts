// Crafted hostile files shared by the detector's tests and the API's (which run in the Workers runtime: plain
// Uint8Array and DataView, no node: modules).

/**
 * An OLE2 file of `totalSectors` 512-byte sectors whose directory chain visits `blocks` 64 KiB blocks round-robin,
 * so a reader that caches fewer blocks misses on every step. Its root has no children (an unsupported kind).
 */
export function scatteredOle2(totalSectors: number, blocks: number): Uint8Array {
  const fatSectors = Math.ceil((totalSectors * 4) / 512);
  const file = new Uint8Array((totalSectors + 1) * 512);
  const view = new DataView(file.buffer);
  const u16 = (at: number, value: number) => view.setUint16(at, value, true);
  const u32 = (at: number, value: number) => view.setUint32(at, value, true);
  file.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], 0);
  u16(0x18, 0x3e);
  u16(0x1a, 3);
  u16(0x1c, 0xfffe);
  u16(0x1e, 9); // 512-byte sectors
  u16(0x20, 6);
  u32(0x2c, fatSectors);
  u32(0x44, 0xfffffffe); // no DIFAT sectors: the header lists every FAT sector
  for (let i = 0; i < 109; i++) u32(0x4c + i * 4, i < fatSectors ? i : 0xffffffff);
  const sectorsPerBlock = 128;
  const chain: number[] = [];
  for (let k = 0; Math.floor(k / blocks) < sectorsPerBlock; k++) {
    const sector = fatSectors + sectorsPerBlock + (k % blocks) * sectorsPerBlock + Math.floor(k / blocks);
    if (sector >= totalSectors) break;
    chain.push(sector);
  }
  const fat = (n: number, value: number) => u32(512 + n * 4, value);
  for (let n = 0; n < totalSectors; n++) fat(n, n < fatSectors ? 0xfffffffd : 0xffffffff);
  chain.forEach((sector, i) => fat(sector, i + 1 < chain.length ? chain[i + 1]! : 0xfffffffe));
  u32(0x30, chain[0]!);
  const root = (chain[0]! + 1) * 512;
  "Root Entry".split("").forEach((c, i) => u16(root + i * 2, c.charCodeAt(0)));
  u16(root + 0x40, 22);
  file[root + 0x42] = 5;
  for (const at of [0x44, 0x48, 0x4c]) u32(root + at, 0xffffffff);
  return file;
}

/** The billion-laughs DOCTYPE: `a` is ten characters, each next entity ten of the one before, `j` 10^10. */
export const LAUGHS_DOCTYPE = (root: string): string =>
  `<!DOCTYPE ${root} [<!ENTITY a "aaaaaaaaaa">${Array.from(
    { length: 9 },
    (_, i) => `<!ENTITY ${String.fromCharCode(98 + i)} "${`&${String.fromCharCode(97 + i)};`.repeat(10)}">`,
  ).join("")}]>`;

/** The red team's laughs.svg (520 bytes): it held a LibreOffice for the whole 120 s conversion timeout. */
export function laughsSvg(): Uint8Array {
  return new TextEncoder().encode(
    `<?xml version="1.0"?>${LAUGHS_DOCTYPE("svg")}<svg xmlns="http://www.w3.org/2000/svg"><text>&j;</text></svg>`,
  );
}

/**
 * An SVG with the prolog Adobe Illustrator writes: an external DTD id and an internal subset of short flat
 * entities, which the root's namespace declarations refer to; `text` is drawn in a text element.
 */
export function illustratorSvg(text: string): Uint8Array {
  return new TextEncoder().encode(`<?xml version="1.0" encoding="utf-8"?>
<!-- Generator: Adobe Illustrator 16.0.0, SVG Export Plug-In . SVG Version: 6.00 Build 0)  -->
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [
	<!ENTITY ns_extend "http://ns.adobe.com/Extensibility/1.0/">
	<!ENTITY ns_ai "http://ns.adobe.com/AdobeIllustrator/10.0/">
	<!ENTITY ns_graphs "http://ns.adobe.com/Graphs/1.0/">
	<!ENTITY ns_vars "http://ns.adobe.com/Variables/1.0/">
	<!ENTITY ns_imrep "http://ns.adobe.com/ImageReplacement/1.0/">
	<!ENTITY ns_sfw "http://ns.adobe.com/SaveForWeb/1.0/">
	<!ENTITY ns_custom "http://ns.adobe.com/GenericCustomNamespace/1.0/">
	<!ENTITY ns_adobe_xpath "http://ns.adobe.com/XPath/1.0/">
	<!ENTITY ns_svg "http://www.w3.org/2000/svg">
	<!ENTITY ns_xlink "http://www.w3.org/1999/xlink">
]>
<svg version="1.1" id="Layer_1" xmlns:x="&ns_extend;" xmlns:i="&ns_ai;" xmlns:graph="&ns_graphs;"
	 xmlns="&ns_svg;" xmlns:xlink="&ns_xlink;" x="0px" y="0px" width="400px" height="200px"
	 viewBox="0 0 400 200" enable-background="new 0 0 400 200" xml:space="preserve">
<switch>
	<foreignObject requiredExtensions="&ns_ai;" x="0" y="0" width="1" height="1">
		<i:pgfRef xlink:href="#adobe_illustrator_pgf"></i:pgfRef>
	</foreignObject>
	<g i:extraneous="self">
		<rect x="10" y="10" fill="#FFCC00" width="380" height="180"/>
		<text transform="matrix(1 0 0 1 40 110)" font-family="'DejaVuSans'" font-size="28">${text}</text>
	</g>
</switch>
</svg>
`);
}
