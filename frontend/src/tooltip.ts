/** One floating tooltip shared by all figures, placed beside the pointer and kept inside the window. */

let element: HTMLDivElement | null = null;

function tooltipElement(): HTMLDivElement {
  if (!element) {
    element = document.createElement("div");
    element.className = "tooltip";
    element.setAttribute("role", "tooltip");
    element.hidden = true;
    document.body.append(element);
  }
  return element;
}

export function showTooltip(text: string, clientX: number, clientY: number): void {
  const tip = tooltipElement();
  tip.textContent = text;
  tip.hidden = false;
  const gap = 14;
  const { width, height } = tip.getBoundingClientRect();
  const x = clientX + gap + width > window.innerWidth ? clientX - gap - width : clientX + gap;
  const y = clientY + gap + height > window.innerHeight ? clientY - gap - height : clientY + gap;
  tip.style.transform = `translate(${Math.max(0, x)}px, ${Math.max(0, y)}px)`;
}

export function hideTooltip(): void {
  if (element) element.hidden = true;
}
