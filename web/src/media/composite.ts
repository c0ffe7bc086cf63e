// The meeting as the recorder sees it, drawn to a canvas (canvas.captureStream): the tiles of
// the grid, or, when someone presents, the shared screen large with the cameras in a strip.

import { initials } from "../lib/initials";

/** One tile of the composite: a camera or a shared screen. */
export interface CompositeTile {
  /** Stable across updates (participant id, with "-screen" for a shared screen). */
  key: string;
  name: string;
  stream: MediaStream | null;
  screen: boolean;
  /** The camera is on (else the tile shows the name's initials). */
  videoOn: boolean;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export const COMPOSITE_WIDTH = 1280;
export const COMPOSITE_HEIGHT = 720;
export const COMPOSITE_FPS = 15;
const GAP = 8;
/** The presentation's share of the width; the cameras' strip has the rest. */
const STAGE_SHARE = 0.78;

/** Where each tile goes on a `width` x `height` canvas, in the tiles' order. */
export function layoutTiles(tiles: Pick<CompositeTile, "screen">[], width: number, height: number): Rect[] {
  const stage = tiles.findIndex((t) => t.screen);
  if (stage < 0 || tiles.length === 1) return grid(tiles.length, { x: 0, y: 0, w: width, h: height });
  // presentation: the first shared screen large, everyone else in a strip on the right
  const stageW = Math.round(width * STAGE_SHARE);
  const strip = column(tiles.length - 1, { x: stageW + GAP, y: 0, w: width - stageW - GAP, h: height });
  const rects: Rect[] = [];
  let next = 0;
  tiles.forEach((_, i) => rects.push(i === stage ? { x: 0, y: 0, w: stageW, h: height } : strip[next++]));
  return rects;
}

/** `count` cells in the grid's columns (as the room's grid: 1, 2 up to 4, then 3), a short last row centred. */
function grid(count: number, area: Rect): Rect[] {
  if (count === 0) return [];
  const columns = count <= 1 ? 1 : count <= 4 ? 2 : 3;
  const rows = Math.ceil(count / columns);
  const w = (area.w - GAP * (columns - 1)) / columns;
  const h = (area.h - GAP * (rows - 1)) / rows;
  const rects: Rect[] = [];
  for (let i = 0; i < count; i++) {
    const row = Math.floor(i / columns);
    const inRow = row === rows - 1 ? count - row * columns : columns;
    const offset = ((columns - inRow) * (w + GAP)) / 2;
    rects.push({ x: area.x + offset + (i % columns) * (w + GAP), y: area.y + row * (h + GAP), w, h });
  }
  return rects;
}

/** `count` 16:9 cells stacked in `area`, centred vertically. */
function column(count: number, area: Rect): Rect[] {
  const h = Math.min((area.w * 9) / 16, (area.h - GAP * (count - 1)) / count);
  const top = area.y + (area.h - (count * h + GAP * (count - 1))) / 2;
  return Array.from({ length: count }, (_, i) => ({ x: area.x, y: top + i * (h + GAP), w: area.w, h }));
}

/** The part of `source` (`sw` x `sh`) to draw into `rect`: all of it for a screen (letterboxed by
 * the caller), else cropped to the rect's shape (as `object-fit: cover`). */
export function fit(sw: number, sh: number, rect: Rect, contain: boolean): { sx: number; sy: number; sw: number; sh: number; dx: number; dy: number; dw: number; dh: number } {
  const scale = contain ? Math.min(rect.w / sw, rect.h / sh) : Math.max(rect.w / sw, rect.h / sh);
  if (contain) {
    const dw = sw * scale;
    const dh = sh * scale;
    return { sx: 0, sy: 0, sw, sh, dx: rect.x + (rect.w - dw) / 2, dy: rect.y + (rect.h - dh) / 2, dw, dh };
  }
  const cw = rect.w / scale;
  const ch = rect.h / scale;
  return { sx: (sw - cw) / 2, sy: (sh - ch) / 2, sw: cw, sh: ch, dx: rect.x, dy: rect.y, dw: rect.w, dh: rect.h };
}

/**
 * Draws the tiles to a canvas COMPOSITE_FPS times a second; `stream` is the canvas's video.
 * Each tile's video plays in a detached, muted <video> of its own (the page's layout does not
 * matter). `setTiles` follows participants who join or leave.
 */
export class MeetingCanvas {
  readonly canvas: HTMLCanvasElement;
  readonly stream: MediaStream;
  private readonly context: CanvasRenderingContext2D;
  private tiles: CompositeTile[] = [];
  private readonly videos = new Map<string, { video: HTMLVideoElement; track: MediaStreamTrack | null }>();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor() {
    this.canvas = document.createElement("canvas");
    this.canvas.width = COMPOSITE_WIDTH;
    this.canvas.height = COMPOSITE_HEIGHT;
    const context = this.canvas.getContext("2d");
    if (!context) throw new Error("no 2d canvas");
    this.context = context;
    this.draw();
    this.stream = this.canvas.captureStream(COMPOSITE_FPS);
    this.timer = setInterval(() => this.draw(), 1000 / COMPOSITE_FPS);
  }

  setTiles(tiles: CompositeTile[]): void {
    this.tiles = tiles;
    const keep = new Set<string>();
    for (const tile of tiles) {
      const track = tile.stream?.getVideoTracks()[0] ?? null;
      keep.add(tile.key);
      const known = this.videos.get(tile.key);
      if (known && known.track === track) continue;
      const video = known?.video ?? document.createElement("video");
      video.muted = true;
      video.playsInline = true;
      video.srcObject = track ? new MediaStream([track]) : null;
      if (track) void video.play().catch(() => undefined);
      this.videos.set(tile.key, { video, track });
    }
    for (const [key, { video }] of this.videos) {
      if (keep.has(key)) continue;
      video.srcObject = null;
      this.videos.delete(key);
    }
    this.draw();
  }

  close(): void {
    clearInterval(this.timer);
    for (const track of this.stream.getTracks()) track.stop();
    for (const { video } of this.videos.values()) video.srcObject = null;
    this.videos.clear();
  }

  private draw(): void {
    const c = this.context;
    c.fillStyle = "#0b0d12";
    c.fillRect(0, 0, COMPOSITE_WIDTH, COMPOSITE_HEIGHT);
    const rects = layoutTiles(this.tiles, COMPOSITE_WIDTH, COMPOSITE_HEIGHT);
    this.tiles.forEach((tile, i) => this.drawTile(tile, rects[i]));
  }

  private drawTile(tile: CompositeTile, rect: Rect): void {
    const c = this.context;
    c.fillStyle = "#1d2230";
    c.fillRect(rect.x, rect.y, rect.w, rect.h);
    const video = this.videos.get(tile.key)?.video;
    const ready = !!video && video.readyState >= 2 && video.videoWidth > 0;
    if (ready && (tile.videoOn || tile.screen)) {
      const f = fit(video.videoWidth, video.videoHeight, rect, tile.screen);
      c.drawImage(video, f.sx, f.sy, f.sw, f.sh, f.dx, f.dy, f.dw, f.dh);
    } else {
      const radius = Math.min(rect.w, rect.h) / 5;
      c.fillStyle = "#3b4a6b";
      c.beginPath();
      c.arc(rect.x + rect.w / 2, rect.y + rect.h / 2, radius, 0, Math.PI * 2);
      c.fill();
      c.fillStyle = "#ffffff";
      c.font = `600 ${Math.round(radius * 0.8)}px system-ui, sans-serif`;
      c.textAlign = "center";
      c.textBaseline = "middle";
      c.fillText(initials(tile.name), rect.x + rect.w / 2, rect.y + rect.h / 2);
    }
    const label = tile.screen ? `${tile.name} (screen)` : tile.name;
    c.font = "500 16px system-ui, sans-serif";
    c.textAlign = "left";
    c.textBaseline = "bottom";
    const width = Math.min(c.measureText(label).width + 16, rect.w - 8);
    c.fillStyle = "rgba(0, 0, 0, 0.6)";
    c.fillRect(rect.x + 4, rect.y + rect.h - 30, width, 26);
    c.fillStyle = "#ffffff";
    c.fillText(label, rect.x + 12, rect.y + rect.h - 9, rect.w - 24);
  }
}
