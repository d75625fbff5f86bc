// A small XML well-formedness checker for the tests: tags balance, attributes are quoted and unique,
// entities are known, no stray `<` or `&`.

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][\w:.-]*/;
const ENTITY = /^&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/;

function decode(text: string, where: number): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "<") throw new Error(`stray '<' at ${where + i}`);
    if (text[i] !== "&") {
      out += text[i];
      continue;
    }
    const m = ENTITY.exec(text.slice(i));
    if (!m) throw new Error(`bad entity at ${where + i}: ${text.slice(i, i + 12)}`);
    const e = m[0];
    out += e === "&amp;" ? "&" : e === "&lt;" ? "<" : e === "&gt;" ? ">" : e === "&quot;" ? '"' : e === "&apos;" ? "'"
      : String.fromCodePoint(e[2] === "x" ? parseInt(e.slice(3, -1), 16) : parseInt(e.slice(2, -1), 10));
    i += e.length - 1;
  }
  return out;
}

/** Parses a document with a single root element; throws with a position on the first error. */
export function parseXml(source: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  const skipSpace = () => {
    while (i < source.length && /\s/.test(source[i])) i++;
  };
  if (source.startsWith("<?xml")) i = source.indexOf("?>") + 2;
  skipSpace();
  while (i < source.length) {
    if (source.startsWith("<!--", i)) {
      const end = source.indexOf("-->", i);
      if (end < 0) throw new Error(`unclosed comment at ${i}`);
      i = end + 3;
    } else if (source.startsWith("</", i)) {
      const m = NAME.exec(source.slice(i + 2));
      const top = stack.pop();
      if (!m || !top || top.name !== m[0]) throw new Error(`mismatched </${m?.[0]}> at ${i}, open: ${top?.name}`);
      i += 2 + m[0].length;
      skipSpace();
      if (source[i] !== ">") throw new Error(`expected '>' at ${i}`);
      i++;
    } else if (source[i] === "<") {
      const m = NAME.exec(source.slice(i + 1));
      if (!m) throw new Error(`bad tag name at ${i}`);
      if (stack.length === 0 && root) throw new Error(`second root element at ${i}`);
      const element: XmlElement = { name: m[0], attrs: {}, children: [], text: "" };
      i += 1 + m[0].length;
      for (;;) {
        const before = i;
        skipSpace();
        if (source.startsWith("/>", i)) {
          i += 2;
          break;
        }
        if (source[i] === ">") {
          i++;
          stack.push(element);
          break;
        }
        if (i === before) throw new Error(`expected space before attribute at ${i}`);
        const a = NAME.exec(source.slice(i));
        if (!a) throw new Error(`bad attribute at ${i}: ${source.slice(i, i + 20)}`);
        i += a[0].length;
        if (source[i] !== "=" || (source[i + 1] !== '"' && source[i + 1] !== "'")) {
          throw new Error(`unquoted attribute ${a[0]} at ${i}`);
        }
        const quote = source[i + 1];
        const end = source.indexOf(quote, i + 2);
        if (end < 0) throw new Error(`unclosed attribute at ${i}`);
        if (a[0] in element.attrs) throw new Error(`duplicate attribute ${a[0]} at ${i}`);
        element.attrs[a[0]] = decode(source.slice(i + 2, end), i + 2);
        i = end + 1;
      }
      const parent = stack.length > 0 && stack[stack.length - 1] !== element ? stack[stack.length - 1]
        : stack.length > 1 ? stack[stack.length - 2] : null;
      if (parent) parent.children.push(element);
      else root = element;
    } else {
      const end = source.indexOf("<", i);
      const text = source.slice(i, end < 0 ? source.length : end);
      if (stack.length === 0) {
        if (text.trim() !== "") throw new Error(`text outside the root at ${i}`);
      } else {
        stack[stack.length - 1].text += decode(text, i);
      }
      i = end < 0 ? source.length : end;
    }
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  if (!root) throw new Error("no root element");
  return root;
}

/** Every element of the tree, depth first. */
export function allElements(root: XmlElement): XmlElement[] {
  const out: XmlElement[] = [root];
  for (const child of root.children) out.push(...allElements(child));
  return out;
}

/** Elements with the given name whose class list holds `className` (any class when omitted). */
export function select(root: XmlElement, name: string, className?: string): XmlElement[] {
  return allElements(root).filter((e) => e.name === name &&
    (className === undefined || (e.attrs.class ?? "").split(/\s+/).includes(className)));
}
