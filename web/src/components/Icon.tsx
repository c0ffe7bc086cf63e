// Inline SVG icons (decorative: always aria-hidden; the control around them carries the name).

const PATHS: Record<string, string> = {
  mic: "M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3zm-7 9h2a5 5 0 0 0 10 0h2a7 7 0 0 1-6 6.92V21h-2v-2.08A7 7 0 0 1 5 12z",
  micOff:
    "M3.3 2.3 2 3.6l6 6V12a3 3 0 0 0 4.7 2.5l1.5 1.5A5 5 0 0 1 7 12H5a7 7 0 0 0 6 6.92V21h2v-2.08a6.9 6.9 0 0 0 2.7-1L20.4 22l1.3-1.3zM15 6a3 3 0 0 0-5.9-.8L15 11.1zm2 6a5 5 0 0 1-.3 1.6l1.5 1.5A7 7 0 0 0 19 12z",
  cam: "M4 6h11a2 2 0 0 1 2 2v2.5l4-3v9l-4-3V16a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2z",
  camOff: "M3.3 2.3 2 3.6 4.4 6H4a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h11c.3 0 .6-.1.9-.2l4.5 4.5 1.3-1.3zM21 7.5l-4 3V8a2 2 0 0 0-2-2H9.2L21 17.8z",
  screen: "M3 4h18a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1h-7v2h3v2H7v-2h3v-2H3a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1zm1 2v9h16V6zm8 1 4 4h-3v3h-2v-3H8z",
  record: "M12 6a6 6 0 1 1 0 12 6 6 0 0 1 0-12zm0-4a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 2a8 8 0 1 1 0 16 8 8 0 0 1 0-16z",
  chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z",
  people:
    "M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm7 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM9 13c-3.3 0-7 1.6-7 4v3h14v-3c0-2.4-3.7-4-7-4zm7 0c-.5 0-1 0-1.5.1 1.5.9 2.5 2.2 2.5 3.9v3h5v-3c0-2.4-3.2-4-6-4z",
  notes: "M5 3h10l4 4v14H5zm9 1.5V8h3.5zM8 11v2h8v-2zm0 4v2h8v-2z",
  leave: "M10 3h9a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2h-9v-2h9V5h-9zM8 7l1.4 1.4L6.8 11H15v2H6.8l2.6 2.6L8 17l-5-5z",
  end: "M12 9c-1.6 0-3.2.3-4.6.7v3.1c0 .4-.2.7-.6.9-1 .5-1.9 1.1-2.6 1.8-.2.2-.4.3-.7.3s-.5-.1-.7-.3L.3 13c-.2-.2-.3-.4-.3-.7s.1-.5.3-.7A16.9 16.9 0 0 1 12 7c4.6 0 8.7 1.7 11.7 4.6.2.2.3.4.3.7s-.1.5-.3.7l-2.5 2.5c-.2.2-.4.3-.7.3s-.5-.1-.7-.3c-.8-.7-1.6-1.3-2.6-1.8-.3-.2-.6-.5-.6-.9V9.7C15.2 9.3 13.6 9 12 9z",
  copy: "M8 3h11a2 2 0 0 1 2 2v11h-2V5H8zM5 7h10a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V9a2 2 0 0 1 2-2zm0 2v10h10V9z",
  filter: "M3 5h18l-7 8v6l-4 2v-8z",
  hand: "M9 3a1.5 1.5 0 0 1 3 0v7h1V4.5a1.5 1.5 0 0 1 3 0V11h1V7.5a1.5 1.5 0 0 1 3 0V15a7 7 0 0 1-7 7h-.6a6 6 0 0 1-4.8-2.4l-3.9-5.2a1.5 1.5 0 0 1 2.3-1.9L8 14V3z",
  smile: "M12 2a10 10 0 1 1 0 20 10 10 0 0 1 0-20zm0 2a8 8 0 1 0 0 16 8 8 0 0 0 0-16zM8.5 8A1.5 1.5 0 1 1 8.5 11 1.5 1.5 0 0 1 8.5 8zm7 0a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3zM7 13h10a5 5 0 0 1-10 0z",
  more: "M12 4a2 2 0 1 1 0 4 2 2 0 0 1 0-4zm0 6a2 2 0 1 1 0 4 2 2 0 0 1 0-4zm0 6a2 2 0 1 1 0 4 2 2 0 0 1 0-4z",
  close: "M5.7 4.3 12 10.6l6.3-6.3 1.4 1.4-6.3 6.3 6.3 6.3-1.4 1.4-6.3-6.3-6.3 6.3-1.4-1.4 6.3-6.3-6.3-6.3z",
  pin: "M8 3h8v2h-1v5l3 3v2h-5v6l-1 1-1-1v-6H6v-2l3-3V5H8z",
  unpin: "M3.3 2.3 2 3.6l7 7V10L6 13v2h5v6l1 1 1-1v-3.6l7.7 7.7 1.3-1.3zM8 3v2h1v2.2l6 6V5h1V3zm10 10-3-3v3.1l1.9 1.9H18z",
  settings: "M4 6h10v2H4zm14 0h2v2h-2zm-4-2h2v6h-2zM4 16h4v2H4zm8 0h8v2h-8zm-4-2h2v6H8z",
};

export type IconName = keyof typeof PATHS;

export function Icon({ name, size = 20 }: { name: IconName; size?: number }) {
  return (
    <svg class="icon" width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path d={PATHS[name]} fill="currentColor" />
    </svg>
  );
}
