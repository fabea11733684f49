namespace YoloCore.Data;

/// Left-right and up-down flips of an image in place; normalised labels mirror their centre.
public static class Flip
{
    public static void LeftRight(RgbImage im, float[] labels)
    {
        int w = im.Width;
        var p = im.Pixels;
        for (int y = 0; y < im.Height; y++)
        {
            var row = p.Slice(y * im.Stride, im.Stride);
            for (int a = 0, b = w - 1; a < b; a++, b--)
            {
                int oa = a * 3, ob = b * 3;
                (row[oa], row[ob]) = (row[ob], row[oa]);
                (row[oa + 1], row[ob + 1]) = (row[ob + 1], row[oa + 1]);
                (row[oa + 2], row[ob + 2]) = (row[ob + 2], row[oa + 2]);
            }
        }
        for (int i = 0; i + 4 < labels.Length; i += 5) labels[i + 1] = 1 - labels[i + 1];
    }

    public static void UpDown(RgbImage im, float[] labels)
    {
        var p = im.Pixels;
        int stride = im.Stride;
        var tmp = new byte[stride];
        for (int a = 0, b = im.Height - 1; a < b; a++, b--)
        {
            var ra = p.Slice(a * stride, stride); var rb = p.Slice(b * stride, stride);
            ra.CopyTo(tmp); rb.CopyTo(ra); tmp.CopyTo(rb);
        }
        for (int i = 0; i + 4 < labels.Length; i += 5) labels[i + 2] = 1 - labels[i + 2];
    }
}
