// Rendering of a drill's evidence into HTML and PDF (handlebars + Chromium via puppeteer-core):
// heavy, so commands load this module only when they render. The record itself is src/evidence.
export { CHROMIUM_ARGS, DEFAULT_TEMPLATES_DIR, renderReport, renderReportHtml, rerenderReport, resolveChromium } from './render.ts';
export type { HtmlOptions, RenderOptions, RenderResult } from './render.ts';
