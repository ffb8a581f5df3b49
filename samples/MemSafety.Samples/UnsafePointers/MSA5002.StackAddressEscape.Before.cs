namespace MemSafety.Samples.UnsafePointers;

public static unsafe class StackAddressEscapeBefore
{
    // MSA5002: the buffer lives in this call's frame; the caller reads it after the next call has reused that memory.
    public static int* Squares(int n)
    {
        int* p = stackalloc int[n];
        for (int i = 0; i < n; i++)
            p[i] = i * i;
        return p;
    }
}
