// Reading an equipment's QR label from a photo the phone's camera takes (an
// `<input type=file accept=image/* capture=environment>`, which also works on plain http where
// live camera access is not offered): the browser's own BarcodeDetector where it has one
// (Chrome on Android), else jsQR (npm; loaded only then). Typing the code stays the fallback.

/** The part of the Shape Detection API used here (not in TypeScript's DOM types yet). */
interface Detector {
  detect(image: ImageBitmap): Promise<{ rawValue: string }[]>;
}
interface DetectorClass {
  new (options: { formats: string[] }): Detector;
  getSupportedFormats(): Promise<string[]>;
}

/** Photos are scaled down to this many pixels on their longer side before decoding with jsQR:
 * a label filling part of a 12-megapixel photo still has modules of several pixels. */
const MAX_SIDE = 1280;

async function detected(bitmap: ImageBitmap): Promise<string | null> {
  const Native = (globalThis as { BarcodeDetector?: DetectorClass }).BarcodeDetector;
  if (!Native || !(await Native.getSupportedFormats()).includes("qr_code")) return null;
  const [first] = await new Native({ formats: ["qr_code"] }).detect(bitmap);
  return first?.rawValue ?? null;
}

async function decoded(bitmap: ImageBitmap): Promise<string | null> {
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (!context) return null;
  context.drawImage(bitmap, 0, 0, width, height);
  const { default: jsQR } = await import("jsqr");
  return jsQR(context.getImageData(0, 0, width, height).data, width, height)?.data ?? null;
}

/** The text of the QR code in the photo, or null when none can be read. */
export async function readQr(photo: Blob): Promise<string | null> {
  const bitmap = await createImageBitmap(photo);
  try {
    return (await detected(bitmap)) ?? (await decoded(bitmap));
  } finally {
    bitmap.close();
  }
}
