// A camera for tests: Chromium's fake capture device plays a Y4M file (--use-file-for-fake-video-capture).
import encodeQR from 'qr';

/**
 * A YUV4MPEG2 video (4:2:0, two frames, black modules on white) of the QR code of `text`, what
 * --use-file-for-fake-video-capture plays on a loop as the camera.
 */
export function qrVideo(text: string, width = 640, height = 480): Buffer {
  const m = encodeQR(text, 'raw', { ecc: 'medium', border: 4 });
  const scale = Math.floor(Math.min(width, height) / m.length);
  const left = Math.floor((width - m.length * scale) / 2);
  const top = Math.floor((height - m.length * scale) / 2);
  const y = Buffer.alloc(width * height, 235);
  for (let r = 0; r < m.length; r++) {
    for (let c = 0; c < m.length; c++) {
      if (!m[r]![c]) continue;
      for (let dy = 0; dy < scale; dy++) y.fill(16, (top + r * scale + dy) * width + left + c * scale, (top + r * scale + dy) * width + left + (c + 1) * scale);
    }
  }
  const chroma = Buffer.alloc((width / 2) * (height / 2) * 2, 128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), y, chroma]);
  return Buffer.concat([Buffer.from(`YUV4MPEG2 W${width} H${height} F15:1 Ip A1:1 C420jpeg\n`), frame, frame]);
}
