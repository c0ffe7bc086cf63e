import type { ComponentChildren } from "preact";

export function AuthLayout({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <main class="auth" id="main">
      <div class="auth-card">
        <p class="brand" aria-hidden="true">
          Parley
        </p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}
