namespace MemSafety.Samples.UnsafePointers;

public static unsafe class PinnedPointerEscapeAfter
{
    // The block covers every use of the pointer, so the array cannot move while it is read.
    public static int SumOfFirstTwo(int[] values)
    {
        int* cursor;
        fixed (int* p = values)
        {
            cursor = p;

            return cursor[0] + cursor[1];
        }
    }
}
