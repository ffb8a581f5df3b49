namespace MemSafety.Samples.UnsafePointers;

public static unsafe class UnpinnedManagedAddressAfter
{
    // The fixed statement pins the array for as long as the pointer is used.
    public static void Clear(int[] values)
    {
        fixed (int* p = &values[0])
        {
            for (int i = 0; i < values.Length; i++)
                p[i] = 0;
        }
    }
}
