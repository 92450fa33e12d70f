/*
 * pam-race.S — a 64 KiB firmware for `qemu-system-x86_64 -machine pc -smp 2
 * -bios pam-race.bin -device isa-debug-exit` that makes QEMU's non-atomic
 * memslot updates visible (memjournal issue "Record a real, unmodified QEMU live").
 *
 * The boot CPU switches to 32-bit protected mode (it runs from the ROM's alias
 * below 4 GiB, which no PAM setting touches), copies the second CPU's code to
 * 0x8000 in low RAM and starts that CPU with INIT-SIPI-SIPI. The second CPU,
 * also in protected mode, loops reading and writing one word per page of RAM
 * from 1 MiB to 4 MiB, and one below 640 KiB, counting its rounds at 0x7000.
 * The boot CPU then writes the i440FX PAM0 register (PCI 0:0.0, offset 0x59)
 * TOGGLES times, alternating 0x30 (0xF0000-0xFFFFF is RAM, which QEMU merges
 * with the RAM above 1 MiB into one slot) and 0x00 (it is ROM again): every
 * write makes QEMU 7.2 delete the slot holding [1 MiB, …) and add it back, one
 * ioctl after the other, while the second CPU keeps touching that RAM.
 * Finally it writes EXIT_VALUE to isa-debug-exit (port 0xf4): QEMU exits with
 * status (EXIT_VALUE << 1) | 1 = 7.
 *
 * Build (the tests do this):  as --32 -o pam-race.o pam-race.S
 *                             ld -m elf_i386 -Ttext=0 --oformat=binary -o pam-race.bin pam-race.o
 */
        .set BASE, 0xFFFF0000        /* where QEMU maps a 64 KiB BIOS image */
        .set AP_CODE, 0x8000         /* the second CPU's code in low RAM (SIPI vector 0x08) */
        .set AP_ROUNDS, 0x7000       /* the second CPU's round counter */
        .ifndef TOGGLES              /* as --defsym TOGGLES=N for another count */
        .set TOGGLES, 400
        .endif
        .set EXIT_VALUE, 3

        .text
        .code16
start16:
        cli
        cld
        lgdtl %cs:gdt_pointer
        movl %cr0, %eax
        orl $1, %eax
        movl %eax, %cr0
        ljmpl $0x08, $(BASE + start32)

        .code32
start32:
        movw $0x10, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movl $0x6000, %esp           /* a stack in low RAM (no PAM setting touches it) */
        /* The second CPU's code, to low RAM. */
        movl $(BASE + ap_start), %esi
        movl $AP_CODE, %edi
        movl $(ap_end - ap_start), %ecx
        rep movsb
        movl $0, AP_ROUNDS
        /* INIT, then SIPI twice, to APIC ID 1 (the local APIC's ICR). */
        movl $(1 << 24), 0xFEE00310
        movl $0x00004500, 0xFEE00300
        call pause
        movl $(0x00004600 | (AP_CODE >> 12)), 0xFEE00300
        call pause
        movl $(0x00004600 | (AP_CODE >> 12)), 0xFEE00300
wait_ap:
        cmpl $0, AP_ROUNDS
        je wait_ap
        /* The toggles. */
        movl $TOGGLES, %ebx
toggle:
        movb $0x30, %cl
        call write_pam0
        movb $0x00, %cl
        call write_pam0
        decl %ebx
        jnz toggle
        /* Let the second CPU finish a round after the last toggle, then exit QEMU. */
        movl AP_ROUNDS, %eax
        addl $2, %eax
wait_rounds:
        cmpl %eax, AP_ROUNDS
        jb wait_rounds
        movw $0xf4, %dx
        movb $EXIT_VALUE, %al
        outb %al, %dx
halt:
        hlt
        jmp halt

/* Writes %cl to PAM0 through PCI configuration mechanism #1. */
write_pam0:
        movw $0xcf8, %dx
        movl $0x80000058, %eax
        outl %eax, %dx
        movw $0xcfd, %dx
        movb %cl, %al
        outb %al, %dx
        ret

/* A short busy wait between the IPIs. */
pause:
        movl $20000, %ecx
1:      loop 1b
        ret

        .p2align 3
gdt:
        .quad 0
        /* The accessed bits are set: the CPU would write them into ROM otherwise,
           and KVM would exit to QEMU for that write on every segment load. */
        .quad 0x00CF9B000000FFFF     /* 0x08: code, flat 4 GiB, 32-bit */
        .quad 0x00CF93000000FFFF     /* 0x10: data, flat 4 GiB */
gdt_pointer:
        .word gdt_pointer - gdt - 1
        .long BASE + gdt

/* The second CPU: starts in real mode at AP_CODE, so its addresses are AP_CODE + (label - ap_start). */
        .code16
ap_start:
        cli
        xorw %ax, %ax
        movw %ax, %ds
        lgdtl (AP_CODE + ap_gdt_pointer - ap_start)
        movl %cr0, %eax
        orl $1, %eax
        movl %eax, %cr0
        ljmpl $0x08, $(AP_CODE + ap_start32 - ap_start)
        .code32
ap_start32:
        movw $0x10, %ax
        movw %ax, %ds
        movw %ax, %es
ap_round:
        movl $0x100000, %ebx
ap_page:
        movl (%ebx), %eax
        incl %eax
        movl %eax, (%ebx)
        addl $0x1000, %ebx
        cmpl $0x400000, %ebx
        jb ap_page
        incl 0x50000                 /* RAM below 640 KiB */
        incl AP_ROUNDS
        jmp ap_round
        .p2align 3
ap_gdt:
        .quad 0
        .quad 0x00CF9A000000FFFF
        .quad 0x00CF92000000FFFF
ap_gdt_pointer:
        .word ap_gdt_pointer - ap_gdt - 1
        .long AP_CODE + ap_gdt - ap_start
ap_end:

/* The reset vector: the last 16 bytes of the image. */
        .org 0xFFF0
        .code16
        ljmp $0xF000, $start16       /* to the image's copy at 0xF0000 (isa-bios), as SeaBIOS does */
        .org 0x10000
