import { html, type SafeHtml } from './html.js';
import type { Flash } from './session.js';

export interface Viewer {
  account: string;
  serverAdmin: boolean;
  csrf: string;
}

export interface Crumb {
  label: string;
  href?: string;
}

/** The hidden CSRF field every form carries. */
export function csrfField(csrf: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${csrf}">`;
}

function flashBox(flash: Flash | undefined): SafeHtml {
  if (!flash) return html``;
  return html`<div class="flash ${flash.kind}" role="${flash.kind === 'error' ? 'alert' : 'status'}">
<p>${flash.text}</p>
${flash.lines && flash.lines.length > 0 ? html`<ul>${flash.lines.map((l) => html`<li>${l}</li>`)}</ul>` : ''}
${flash.secret ? html`<p><label for="secret">Copy it now; it is not shown again:</label> <input id="secret" class="secret" readonly value="${flash.secret}" size="60"></p>` : ''}
</div>`;
}

/** A whole page: same shell everywhere (skip link, header with navigation and sign-out, breadcrumbs, main). */
export function page(input: { title: string; viewer?: Viewer; crumbs?: readonly Crumb[]; flash?: Flash; body: SafeHtml; scripts?: readonly string[] }): string {
  const v = input.viewer;
  const nav = v
    ? html`<nav aria-label="Main"><ul>
<li><a href="/console/">Projects</a></li>
<li><a href="/console/impact">Blast radius</a></li>
${v.serverAdmin ? html`<li><a href="/console/audit">Audit trail</a></li>` : ''}
<li><a href="/console/tokens">Tokens</a></li>
${v.serverAdmin ? html`<li><a href="/console/accounts">Accounts</a></li>` : ''}
</ul></nav>
<form class="signout" method="post" action="/console/sign-out">${csrfField(v.csrf)}<span class="who">Signed in as <strong>${v.account}</strong>${v.serverAdmin ? ' (server admin)' : ''}</span> <button type="submit">Sign out</button></form>`
    : html``;
  const crumbs = input.crumbs && input.crumbs.length > 0 ? html`<nav aria-label="Breadcrumb" class="crumbs"><ol>${input.crumbs.map((c) => (c.href ? html`<li><a href="${c.href}">${c.label}</a></li>` : html`<li aria-current="page">${c.label}</li>`))}</ol></nav>` : '';
  const scripts = ['/console/static/console.js', ...(input.scripts ?? [])];
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${input.title} · Custody console</title>
<link rel="icon" href="/console/static/icon.svg">
<link rel="stylesheet" href="/console/static/console.css">
${scripts.map((s) => html`<script src="${s}" defer></script>`)}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="/console/">Custody</a>${nav}</header>
${crumbs}
<main id="main" tabindex="-1">
<h1>${input.title}</h1>
${flashBox(input.flash)}
${input.body}
</main>
</body>
</html>
`.toString();
}
